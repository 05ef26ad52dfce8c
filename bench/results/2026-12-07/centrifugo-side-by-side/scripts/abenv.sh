#!/bin/bash
# alternating runs of one binary under different env settings: CONFS="name=ENV ..."
cd "$(dirname "$0")"
source ${CELLFILE:-./cells-cg.sh}
W=${WORK:-/tmp/livechat-ab}
run() { local cname=$1 env=$2 n=$3 d=$4; shift 4
  echo -n "$n $cname $d: "; SENV="$(echo $env | tr , " ")" PSTAT=1 ./run1.sh $BIN $W/$cname --durability $d -- "$@" --duration 10s | grep -E "latency|1k" | awk '{printf "%s ", $0}' | sed 's/  */ /g' | sed 's/(n=.*cpu/cpu/'; tr '\n' ' ' < $W/$cname/pstat.txt | sed 's/  */ /g' | sed 's/#[^#]*K\/sec//'; echo; }
for i in $(seq ${ROUNDS:-2}); do
  for c in "${CELLS[@]}"; do for conf in $CONFS; do eval run ${conf%%=*} ${conf#*=} $c; done; done
done
