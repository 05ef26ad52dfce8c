#!/bin/bash
# usage: run1.sh BIN OUTDIR [serve extra flags --] [bench args...]
BIN=$1; OUT=$2; shift 2
SERVE=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do SERVE+=("$1"); shift; done
shift
mkdir -p $OUT; D=$(mktemp -d)
PORT=$((20000 + RANDOM % 20000))
env ${SENV:-X=1} $BIN serve --addr 127.0.0.1:$PORT --data $D --message-rate 100000 --message-burst 100000 --login-rate 100000 --register-rate 100000 --room-rate 100000 --max-user-sockets 100000 --max-conns-per-ip 100000 --bcrypt-cost 4 --metrics-addr= "${SERVE[@]}" > $OUT/serve.log 2>&1 &
SP=$!
for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$PORT/ && break; sleep 0.1; done
$BIN bench "$@" --server http://127.0.0.1:$PORT --server-pid $SP --quiet --out $OUT > $OUT/bench.txt 2>&1 &
BP=$!
if [ -n "$PERF" ]; then sleep 4; perf record -F 4999 -g -o $OUT/perf.data -p $SP -- sleep 5 >/dev/null 2>&1; fi
if [ -n "$ALLOC" ]; then sleep 4; curl -s -o $OUT/a1.pprof "http://$ALLOC/debug/pprof/allocs"; sleep 4; curl -s -o $OUT/a2.pprof "http://$ALLOC/debug/pprof/allocs"; fi
if [ -n "$PSTAT" ]; then sleep 4; perf stat -e context-switches,task-clock${PEV:+,$PEV} -p $SP -- sleep 5 2>&1 | grep -E "switches|task-clock|syscalls" > $OUT/pstat.txt; fi
wait $BP
kill $SP; wait $SP 2>/dev/null; rm -rf $D
grep -E "^  (latency|server cpu /|deliveries)" $OUT/bench.txt
