#!/bin/bash
# usage: runcf.sh BENCHBIN OUTDIR -- [bench args...]: a fresh Centrifugo per run
BIN=$1; OUT=$2; shift 3
mkdir -p $OUT
PORT=$((20000 + RANDOM % 20000))
cat > $OUT/config.json <<C
{"client": {"insecure": true}, "http_server": {"address": "127.0.0.1", "port": $PORT}, "log": {"level": "warn"}}
C
${CENTRIFUGO:-/tmp/cf/centrifugo} --config $OUT/config.json > $OUT/serve.log 2>&1 &
SP=$!
for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$PORT/ && break; sleep 0.1; done
$BIN bench "$@" --peer centrifugo --server http://127.0.0.1:$PORT --server-pid $SP --quiet --out $OUT > $OUT/bench.txt 2>&1 &
BP=$!
if [ -n "$PSTAT" ]; then sleep 4; perf stat -e context-switches,task-clock -p $SP -- sleep 5 2>&1 | grep -E "switches|task-clock" > $OUT/pstat.txt; fi
wait $BP
kill $SP; wait $SP 2>/dev/null
grep -E "^  (latency|server cpu /|deliveries)" $OUT/bench.txt
