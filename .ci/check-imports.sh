#!/usr/bin/env bash
# Fails when a package imports against the layering of DESIGN.md:
# cmd → api → actors → persistence, cluster → persistence, bench imports
# nothing of the server, and NATS stays inside cluster. The cluster
# package's tests may also import api and actors: they assemble whole
# nodes in one process, as cmd does.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
while read -r pkg imports; do
  test_only=0
  for imp in $imports; do
    if [[ "$imp" == "--tests--" ]]; then test_only=1; continue; fi
    # Cluster mode's engines stay in the cluster package (CLUSTER.md).
    case "$pkg:$imp" in
      livechat/api*:github.com/nats-io/* | livechat/actors*:github.com/nats-io/* | livechat/persistence*:github.com/nats-io/* | \
      livechat/api*:github.com/asynkron/protoactor-go/cluster* | livechat/actors*:github.com/asynkron/protoactor-go/cluster* | livechat/persistence*:github.com/asynkron/protoactor-go/cluster*)
        echo "cluster engine outside the cluster package: $pkg imports $imp" >&2
        status=1
        continue ;;
    esac
    case "$imp" in livechat/*) ;; *) continue ;; esac
    allowed=0
    case "$pkg" in
      livechat/persistence*) [[ "$imp" == livechat/persistence* ]] && allowed=1 ;;
      livechat/actors*) [[ "$imp" == livechat/actors* || "$imp" == livechat/persistence* ]] && allowed=1 ;;
      livechat/api*) [[ "$imp" == livechat/api* || "$imp" == livechat/actors* || "$imp" == livechat/persistence* ]] && allowed=1 ;;
      livechat/bench*) [[ "$imp" == livechat/bench* ]] && allowed=1 ;;
      livechat/cluster*) [[ "$imp" == livechat/cluster* || "$imp" == livechat/persistence* ]] && allowed=1
        [[ $test_only == 1 && ( "$imp" == livechat/api* || "$imp" == livechat/actors* ) ]] && allowed=1 ;;
      livechat/cmd/*) allowed=1 ;;
    esac
    if [[ $allowed == 0 ]]; then
      echo "import against the layers: $pkg imports $imp" >&2
      status=1
    fi
  done
done < <(go list -f '{{.ImportPath}} {{join .Imports " "}} --tests-- {{join .TestImports " "}} {{join .XTestImports " "}}' ./...)
exit $status
