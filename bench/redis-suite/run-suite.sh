#!/usr/bin/env bash
# Runs Redis's own Tcl test suite (external-server mode, --singledb) one test file at a time, either
# directly against a redis-server or through a Rampart single-server pool in front of one.
#
# Each test file gets a fresh redis-server (and a fresh Rampart): a file that fails half-way leaves
# server settings behind (unit/type/set leaves rdb-key-save-delay at 2147483647 when one of its tests
# fails, and every later SYNC or BGREWRITEAOF then hangs), and one file's trouble must not be counted
# against the next. One file per runtest call, so an exception costs only that file.
#
# usage: run-suite.sh --suite DIR --out DIR [--rampart BIN] [--pool-extra YAML] [--files "unit/a unit/b"]
#   --suite DIR       a Redis source tree's top folder (holds tests/test_helper.tcl), the same version
#                     as the redis-server on PATH
#   --out DIR         logs, results.tsv and total.txt go here
#   --rampart BIN     run through Rampart (path of the `rampart` executable); without it, direct
#   --pool-extra Y    extra lines (indented by 2) added to the Rampart pool, for example
#                     '  commands: {allow: ["@admin", "@dangerous"]}'
#   --files LIST      test units to run (default: the suite's whole list, `--list-tests`)
#   --file-timeout S  hard limit per test file in seconds (default 900)
#   --idle-timeout S  the suite's own limit on seconds without a finished test (default 120): a hang
#                     through the proxy costs this much, then the rest of the file is not run
#
# The suite runs with --durable: an error that is not an assertion (an error reply where a test
# expected data, a dropped connection) fails that one test instead of ending the whole file, so every
# test is measured on its own. Errors outside a test (a start_server block's CONFIG SET of its
# overrides) still end the file.
set -euo pipefail

suite= out= rampart= pool_extra= files= file_timeout=900 idle_timeout=120
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) suite=$2; shift 2;;
    --out) out=$2; shift 2;;
    --rampart) rampart=$2; shift 2;;
    --pool-extra) pool_extra=$2; shift 2;;
    --files) files=$2; shift 2;;
    --file-timeout) file_timeout=$2; shift 2;;
    --idle-timeout) idle_timeout=$2; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
[ -n "$suite" ] && [ -n "$out" ] || { echo "need --suite and --out" >&2; exit 2; }
suite=$(cd "$suite" && pwd); mkdir -p "$out"; out=$(cd "$out" && pwd)
mkdir -p "$out/logs"

free_port() { # ask the OS for a free loopback port below 55000 (the suite also probes port+10000)
  python3 - <<'PY'
import socket
for _ in range(50):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p < 55000: break
print(p)
PY
}

redis_pid= rampart_pid=
# Stops one process: SIGTERM, up to 10 s, then SIGKILL (a redis-server left inside an endless script by a
# test that timed out never acts on SIGTERM).
stop_pid() {
  local pid=$1
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_all() {
  if [ -n "$rampart_pid" ]; then stop_pid "$rampart_pid"; fi
  if [ -n "$redis_pid" ]; then stop_pid "$redis_pid"; fi
  rampart_pid= redis_pid=
}
trap stop_all EXIT

# Waits until `redis-cli -p PORT CMD...` prints EXPECTED; bounded: 100 tries, 0.1 s apart.
wait_reply() {
  local port=$1 expected=$2; shift 2
  for _ in $(seq 1 100); do
    [ "$(redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null)" = "$expected" ] && return 0
    sleep 0.1
  done
  return 1
}

# Fresh processes for one test file; the options are those of Redis's own CI external-server run.
start_all() {
  local name=$1
  redis_port=$(free_port)
  rm -rf "$out/redis-data"; mkdir -p "$out/redis-data"
  redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
    --dir "$out/redis-data" --logfile "$out/logs/$name.redis.log" --daemonize no \
    --enable-protected-configs yes --enable-debug-command yes --enable-module-command yes &
  redis_pid=$!
  wait_reply "$redis_port" PONG ping || { echo "redis-server did not start" >&2; return 1; }
  target_port=$redis_port
  if [ -n "$rampart" ]; then
    target_port=$(free_port)
    cat > "$out/rampart.yml" <<YAML
suite:
  listen: 127.0.0.1:$target_port
  redis: true
  servers:
    - 127.0.0.1:$redis_port:1 s1
$pool_extra
YAML
    "$rampart" serve --config "$out/rampart.yml" > "$out/logs/$name.rampart.log" 2>&1 &
    rampart_pid=$!
    # PING is answered by Rampart itself; EXISTS goes to the server, so this waits for the pool too.
    wait_reply "$target_port" 0 exists rampart-suite-probe || { echo "rampart did not start" >&2; return 1; }
  fi
}

cd "$suite"
[ -n "$files" ] || files=$(tclsh tests/test_helper.tcl --list-tests)

printf 'file\tok\terr\texception\ttimeout\n' > "$out/results.tsv"
for f in $files; do
  name=$(echo "$f" | tr / _)
  log="$out/logs/$name.log"
  start_all "$name"
  # The suite's own test server listens on the first free port of [baseport-32, baseport).
  baseport=$(( $(free_port) + 32 ))
  set +e
  timeout -k 10 "$file_timeout" tclsh tests/test_helper.tcl --host 127.0.0.1 --port "$target_port" \
    --singledb --durable --clients 1 --timeout "$idle_timeout" --baseport "$baseport" --single "$f" \
    > "$log" 2>&1 < /dev/null
  rc=$?
  set -e
  stop_all
  sed -i -r 's/\x1b\[[0-9;]*m//g' "$log"   # the suite colours its output; strip it for grep
  ok=$(grep -c '^\[ok\]: ' "$log" || true)
  err=$(grep -c '^\[err\]: ' "$log" || true)
  exc=$(grep -c '^\[exception\]: ' "$log" || true)
  to=0; if [ $rc -eq 124 ] || grep -q '^\[TIMEOUT\]' "$log"; then to=1; fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$ok" "$err" "$exc" "$to" | tee -a "$out/results.tsv"
done
awk -F'\t' 'NR>1 {ok+=$2; err+=$3; exc+=$4; to+=$5} END {printf "TOTAL\tok %d\terr %d\texceptions %d\ttimeouts %d\n", ok, err, exc, to}' \
  "$out/results.tsv" | tee "$out/total.txt"
