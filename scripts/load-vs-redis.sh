#!/usr/bin/env bash
# Start-up with an RDB file, Roost vs redis-server, in one run: the time until the server answers
# PING and the peak of its anonymous (private heap) memory meanwhile, from /proc/PID/smaps_rollup.
# The file is written by redis-server (DEBUG POPULATE, without compression) and loaded by both.
#
# Usage: scripts/load-vs-redis.sh [keys] [value-bytes] [rounds]   (default 1000000 keys of 400
# bytes, 3 rounds; each round loads the same file into Roost, then into redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${1:-1000000}
VALUE=${2:-400}
ROUNDS=${3:-3}
for tool in redis-server redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install -y redis-server redis-tools python3)" >&2; exit 1; }
done
cargo build --release -q -p roost
ROOST=$PWD/target/release/roost
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

port=$(free_port)
redis-server --port "$port" --bind 127.0.0.1 --save '' --dir "$WORK" --enable-debug-command yes >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 200); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -p "$port" debug populate "$KEYS" key "$VALUE" >/dev/null
redis-cli -p "$port" config set rdbcompression no >/dev/null
redis-cli -p "$port" save >/dev/null
redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
echo "RDB file: $KEYS keys of $VALUE bytes, $(($(stat -c %s "$WORK/dump.rdb") / 1000000)) MB"

measure() { # $1 = roost|redis; prints seconds and peak anonymous MB
  local port pid start peak=0 anon
  port=$(free_port)
  start=$(date +%s%N)
  if [ "$1" = roost ]; then
    "$ROOST" server --port "$port" --bind 127.0.0.1 --dir "$WORK" --save '' >/dev/null 2>&1 &
  else
    redis-server --port "$port" --bind 127.0.0.1 --dir "$WORK" --save '' >/dev/null 2>&1 &
  fi
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 6000); do
    anon=$(awk '/^Anonymous:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    [ -n "$anon" ] && [ "$anon" -gt "$peak" ] && peak=$anon
    # redis-server answers PING with -LOADING while it loads.
    [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
    sleep 0.02
  done
  echo "$1 $(( ($(date +%s%N) - start) / 1000000 )) $((peak / 1024))"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

printf '%-8s%12s%22s\n' server "load ms" "peak anonymous MB"
for _ in $(seq 1 "$ROUNDS"); do
  for kind in roost redis; do
    read -r name ms mb < <(measure "$kind")
    printf '%-8s%12s%22s\n' "$name" "$ms" "$mb"
  done
done
