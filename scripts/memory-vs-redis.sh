#!/usr/bin/env bash
# Memory per dataset: the same data loaded into Roost and redis-server, used_memory and RSS
# compared as Roost/Redis ratios. Each dataset is loaded into fresh servers.
#
# Usage: scripts/memory-vs-redis.sh [keys]   (default 1000000; lists use keys/100 lists of 800 IDs,
# the stream dataset is one stream of keys/10 entries, also compared with MEMORY USAGE)
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${1:-1000000}
for tool in redis-server redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install -y redis-server redis-tools)" >&2; exit 1; }
done
cargo build --release -q
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server on $1 did not start" >&2; exit 1; }

# Writes the RESP commands of one dataset to stdout.
generate() {
  python3 - "$1" "$KEYS" <<'PY'
import sys
kind, n = sys.argv[1], int(sys.argv[2])
out = sys.stdout
def cmd(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    out.buffer.write(b"".join(parts))
if kind == "strings":
    for i in range(n):
        cmd("SET", "key:%012d" % i, "value:%d" % i)
elif kind == "hashes":
    for i in range(n):
        cmd("HSET", "user:%d" % i, "name", "user%d" % i, "age", i % 90, "city", "city%d" % (i % 500), "score", i % 1000, "flag", "1")
elif kind == "sets":
    for i in range(n):
        cmd("SADD", "tags:%d" % i, "a%d" % (i % 7), "b%d" % (i % 11), "c%d" % (i % 13), "d", "e")
elif kind == "zsets":
    for i in range(n):
        cmd("ZADD", "rank:%d" % i, 1, "a", 2, "b", 3.5, "c%d" % (i % 9), 4, "d", 5, "e")
elif kind == "lists":
    for i in range(max(1, n // 100)):
        key = "timeline:%d" % i
        ids = [str(1_000_000_000_000_000 + i * 1000 + j) for j in range(800)]
        for chunk in range(0, 800, 100):
            cmd("RPUSH", key, *ids[chunk:chunk + 100])
elif kind == "stream":
    for i in range(max(1, n // 10)):
        cmd("XADD", "events", "%d-%d" % (1_700_000_000_000 + i // 4, i % 4), "user", i % 5000, "action", "post", "item", 1_000_000 + i)
PY
}

field() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: -v f="$2" '$1==f {print $2}'; }

printf '%-10s %14s %14s %7s %14s %14s %7s\n' dataset roost_used redis_used ratio roost_rss redis_rss ratio
for kind in strings hashes sets zsets lists stream; do
  generate "$kind" >"$WORK/$kind.resp"
  ROOST_PORT=$(free_port); REDIS_PORT=$(free_port)
  target/release/roost --port "$ROOST_PORT" --bind 127.0.0.1 >/dev/null 2>&1 & PIDS+=($!); RP=$!
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 & PIDS+=($!); DP=$!
  wait_port "$ROOST_PORT"; wait_port "$REDIS_PORT"
  declare -A base
  for p in "$ROOST_PORT" "$REDIS_PORT"; do base[$p]=$(field "$p" used_memory); done
  errors=$( (redis-cli -p "$ROOST_PORT" --pipe <"$WORK/$kind.resp" 2>&1 || true) | awk '/errors:/ {print $2}' | tr -d ',')
  redis-cli -p "$REDIS_PORT" --pipe <"$WORK/$kind.resp" >/dev/null 2>&1 || true
  if [ "${errors:-1}" != 0 ]; then
    printf '%-10s %s\n' "$kind" "not supported by Roost yet ($errors errors loading)"
  else
    ru=$(( $(field "$ROOST_PORT" used_memory) - base[$ROOST_PORT] )); du=$(( $(field "$REDIS_PORT" used_memory) - base[$REDIS_PORT] ))
    rr=$(field "$ROOST_PORT" used_memory_rss); dr=$(field "$REDIS_PORT" used_memory_rss)
    python3 -c "print('%-10s %14d %14d %7.2f %14d %14d %7.2f' % ('$kind', $ru, $du, $ru/$du, $rr, $dr, $rr/$dr))"
    if [ "$kind" = stream ]; then
      rm=$(redis-cli -p "$ROOST_PORT" memory usage events); dm=$(redis-cli -p "$REDIS_PORT" memory usage events)
      python3 -c "print('%-10s MEMORY USAGE events (%s entries): roost %d, redis %d, ratio %.2f' % ('', $(redis-cli -p "$ROOST_PORT" xlen events), $rm, $dm, $rm/$dm))"
    fi
  fi
  kill "$RP" "$DP"; wait "$RP" "$DP" 2>/dev/null || true
done
