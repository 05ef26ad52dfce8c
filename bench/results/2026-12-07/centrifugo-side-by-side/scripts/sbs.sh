#!/bin/bash
# side by side: LiveChat (fsync, os) and Centrifugo, alternating, fresh processes; CELLFILE cells "name scenario args"
cd "$(dirname "$0")"
source ${CELLFILE:-./cells-sbs-all.sh}
W=${WORK:-/tmp/livechat-sbs}
LC=${LC:-../../../../../livechat}
fmt() { grep -E "deliveries|latency|1k" | awk '{printf "%s ", $0}' | sed 's/  */ /g' | sed 's/(n=.*cpu/cpu/' | sed 's/ of [0-9]* expected//'; echo; }
for i in $(seq ${ROUNDS:-2}); do
  for c in "${CELLS[@]}"; do
    set -- $c; n=$1; shift
    for d in ${DURS:-fsync os}; do echo -n "$n livechat-$d: "; ./run1.sh $LC $W/lc --durability $d -- "$@" --duration ${DUR:-10s} | fmt; done
    echo -n "$n centrifugo: "; ./runcf.sh $LC $W/cf -- "$@" --duration ${DUR:-10s} | fmt
  done
done
