#!/bin/bash
# usage: ab.sh OUTDIR ROUNDS "serve flags" "bench flags" name=bin ...
OUT=$1; N=$2; SF=$3; BF=$4; shift 4
for r in $(seq $N); do for nb in "$@"; do n=${nb%%=*}; b=${nb#*=}
 /tmp/perf/run.sh $b $OUT $n-$r 0 $SF -- $BF >/dev/null; python3 /tmp/perf/s.py $OUT/$n-$r
done; done
