#!/usr/bin/env bash
# Fetches Redis 7.0.15's own test suite (the version Debian bookworm's redis-server is) as Debian's
# source package, with apt's own client and private state folders (nothing in /etc/apt changes).
# usage: get-suite.sh DIR   -> DIR/redis-7.0.15 holds tests/ and runtest
set -euo pipefail
dir=${1:?usage: get-suite.sh DIR}; mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial"; dir=$(cd "$dir" && pwd)
cat > "$dir/apt/sources.list" <<SRC
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian-security bookworm-security main
SRC
opts=(-o Dir::Etc::SourceList="$dir/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
      -o Dir::State::Lists="$dir/apt/lists" -o Dir::Cache="$dir/apt/cache")
apt-get "${opts[@]}" update
version=$(dpkg-query -W -f='${Version}' redis-server)   # the same version as the server under test
cd "$dir" && apt-get "${opts[@]}" source "redis=$version"
