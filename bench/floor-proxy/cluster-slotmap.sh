#!/bin/sh
# Prints the SLOTMAP argument of floor-cluster (start-end:port,... with each range's master port, by start slot) from
# `redis-cli -p PORT cluster slots` on a running cluster node. Usage: cluster-slotmap.sh PORT
# redis-cli prints the reply flattened, one element per line: each range is start, end, then its master's ip, port,
# id (and, from Redis 7, an empty line for its metadata), then its replicas'. A range is found as two slot numbers
# followed by a host and a port.
[ $# -eq 1 ] || { echo "usage: $0 PORT" >&2; exit 1; }
redis-cli -p "$1" cluster slots | awk '
  { l[NR] = $0 }
  END {
    for (i = 1; i + 3 <= NR; i++)
      if (l[i] ~ /^[0-9]+$/ && l[i+1] ~ /^[0-9]+$/ && l[i+2] !~ /^[0-9]*$/ && l[i+3] ~ /^[0-9]+$/ && l[i] + 0 <= 16383 && l[i+1] + 0 <= 16383)
        print l[i] "-" l[i+1] ":" l[i+3]
  }' | sort -t- -k1,1n | paste -sd, -
