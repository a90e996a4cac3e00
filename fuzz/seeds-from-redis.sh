#!/bin/sh
# Adds seeds written by a real Redis (7.0): DUMP payloads of each kind and encoding under
# corpus/restore_payload/, and the RDB file SAVE writes under corpus/rdb_file/.
# Usage: fuzz/seeds-from-redis.sh [port]   (needs redis-server and redis-cli on PATH)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
port=${1:-6399}
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --dbfilename dump.rdb \
    --save '' --appendonly no --daemonize no >"$dir/log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
cli() { redis-cli -p "$port" "$@"; }
until cli ping >/dev/null 2>&1; do sleep 0.1; done
cli set str-int 12345 >/dev/null
cli set str-raw hello >/dev/null
cli set str-lzf "$(printf 'compress me %.0s' 1 2 3 4 5 6)" >/dev/null
cli rpush list-quicklist a b 1 -42 300000 "$(printf 'x%.0s' $(seq 70))" >/dev/null
cli hset hash-listpack f1 1 f2 two f3 -3 >/dev/null
cli sadd set-intset -70000 -3 0 5 300 1099511627776 >/dev/null
cli sadd set-table a b c >/dev/null
cli zadd zset-listpack 1 a 2.5 b -1e20 c inf d >/dev/null
for i in $(seq 130); do echo "HSET hash-table f$i v"; echo "ZADD zset-skiplist $i m$i"; done | cli >/dev/null
cli config set stream-node-max-entries 4 >/dev/null
for i in 1 2 3 4 5 6 7 8 9; do cli xadd stream "1700000000000-$i" name s1 v "$i" >/dev/null; done
cli xadd stream 1700000000001-0 other 10 >/dev/null
cli xdel stream 1700000000000-2 >/dev/null
cli xgroup create stream readers 1700000000000-3 >/dev/null
cli xreadgroup group readers alice count 2 streams stream '>' >/dev/null
cli xreadgroup group readers bob count 1 streams stream '>' >/dev/null
mkdir -p "$here/corpus/restore_payload" "$here/corpus/rdb_file"
for k in str-int str-raw str-lzf list-quicklist hash-listpack hash-table set-intset set-table \
    zset-listpack zset-skiplist stream; do
    # --raw prints the payload and a newline; the newline is not part of it.
    cli --raw dump "$k" | head -c -1 >"$here/corpus/restore_payload/redis-$k"
done
cli save >/dev/null
cp "$dir/dump.rdb" "$here/corpus/rdb_file/redis-all-types.rdb"
