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

start_server() { # $1 = roost|redis, $2 = port; sets SERVER
  if [ "$1" = roost ]; then
    "$ROOST" server --port "$2" --bind 127.0.0.1 --dir "$WORK" --save '' >/dev/null 2>&1 &
  else
    redis-server --port "$2" --bind 127.0.0.1 --dir "$WORK" --save '' >/dev/null 2>&1 &
  fi
  SERVER=$!
  PIDS+=("$SERVER")
}

# Both servers answer PING with -LOADING while they load.
answers() { [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; }

measure() { # $1 = roost|redis; prints milliseconds to the first PONG and peak anonymous MB
  local port pid start ms peak=0 anon
  # The time comes from a start with nothing else watching: reading smaps_rollup walks the
  # whole address space (a mapped file page by page) under the process's memory lock, which
  # stalls the loader's page faults. The memory comes from a second start, polled.
  port=$(free_port)
  start=$(date +%s%N)
  start_server "$1" "$port"
  pid=$SERVER
  for _ in $(seq 1 6000); do answers "$port" && break; sleep 0.01; done
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  kill "$pid"; wait "$pid" 2>/dev/null || true
  port=$(free_port)
  start_server "$1" "$port"
  pid=$SERVER
  for _ in $(seq 1 6000); do
    anon=$(awk '/^Anonymous:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    [ -n "$anon" ] && [ "$anon" -gt "$peak" ] && peak=$anon
    answers "$port" && break
    sleep 0.02
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$1 $ms $((peak / 1024))"
}

printf '%-8s%12s%22s\n' server "load ms" "peak anonymous MB"
for _ in $(seq 1 "$ROUNDS"); do
  for kind in roost redis; do
    read -r name ms mb < <(measure "$kind")
    printf '%-8s%12s%22s\n' "$name" "$ms" "$mb"
  done
done
