#!/bin/bash
# usage: ab.sh OUTDIR rooms members rate
OUT=$1; R=$2; M=$3; X=$4
mkdir -p $OUT
FL="--message-rate 100000 --message-burst 100000 --login-rate 100000 --register-rate 100000 --room-rate 100000 --max-user-sockets 100000 --max-conns-per-ip 100000 --bcrypt-cost 4 --metrics-addr="
port=8500
for round in 1 2; do
 for v in before after; do
  port=$((port+1)); D=$(mktemp -d)
  /tmp/$v/livechat serve --data $D/data --addr 127.0.0.1:$port $FL >/dev/null 2>&1 &
  PID=$!
  for i in $(seq 50); do curl -s 127.0.0.1:$port/healthz >/dev/null && break; sleep 0.2; done
  /tmp/after/livechat bench small-rooms --server http://127.0.0.1:$port --rooms $R --members $M --rate $X --duration 10s --server-pid $PID --quiet --out $OUT/$v-$round >/dev/null 2>&1
  kill $PID; wait $PID 2>/dev/null; rm -rf $D
  echo "== $v round $round"; grep -iE "cpu|p50|lost" $OUT/$v-$round/summary.txt | head -8
 done
done
