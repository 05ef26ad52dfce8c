#!/bin/bash
# usage: run.sh BIN OUTDIR NAME [profile-seconds|0] [extra serve flags...] -- [bench flags]
BIN=$1; OUT=$2; NAME=$3; PROF=$4; shift 4
SERVE=(); while [ $# -gt 0 ] && [ "$1" != "--" ]; do SERVE+=("$1"); shift; done; shift
mkdir -p $OUT
FL="--message-rate 100000 --message-burst 100000 --login-rate 100000 --register-rate 100000 --room-rate 100000 --max-user-sockets 100000 --max-conns-per-ip 100000 --bcrypt-cost 4 --metrics-addr="
port=$((8600 + RANDOM % 300)); pport=$((port+1000))
D=$(mktemp -d)
$BIN serve --data $D/data --addr 127.0.0.1:$port --pprof 127.0.0.1:$pport $FL "${SERVE[@]}" >$D/log 2>&1 &
PID=$!
for i in $(seq 50); do curl -s 127.0.0.1:$port/healthz >/dev/null && break; sleep 0.2; done
if [ "$PROF" != 0 ]; then (sleep 6; curl -s -o $OUT/$NAME.pprof "127.0.0.1:$pport/debug/pprof/profile?seconds=$PROF") & PP=$!; fi
/tmp/perf/base/livechat bench ${SCEN:-small-rooms} --server http://127.0.0.1:$port --server-pid $PID --quiet --out $OUT/$NAME "$@" >/dev/null 2>&1
[ "$PROF" != 0 ] && wait $PP
kill $PID; wait $PID 2>/dev/null; cp $D/log $OUT/$NAME.log; rm -rf $D
python3 - $OUT/$NAME/report.json $NAME <<'PY'
import json,sys
r=json.load(open(sys.argv[1]))
def find(d,keys,path=""):
    out={}
    if isinstance(d,dict):
        for k,v in d.items():
            p=path+"."+k
            if any(x in k.lower() for x in keys) and not isinstance(v,(dict,list)): out[p]=v
            out.update(find(v,keys,p))
    elif isinstance(d,list):
        for i,v in enumerate(d[:3]): out.update(find(v,keys,path+f"[{i}]"))
    return out
print(sys.argv[2], {k:v for k,v in find(r,["p50","p99","cpu","lost","received"]).items()})
PY
