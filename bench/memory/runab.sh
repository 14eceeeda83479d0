#!/bin/bash
# Needs /tmp/mem (outputs) and the environment of `bin/vso dev up --dir $MEMENV` (default /tmp/memenv)
# with `MEMENV=... node bench/memory/setup10.ts N` run on it.
# usage: [N=10] [MEMENV=dir] [NODE_FLAGS=...] runab.sh BUNDLE TAG [extra node flags...]
# Runs the bundle as the chart does (its Node flags, or $NODE_FLAGS; plus the extra flags) against the environment, waits for the N
# Secrets, then 10 s more, dumps memory stats (probe, after GC) and VmHWM; prints one line:
# the sync time (from the process's start), CPU seconds at the end, the peak at the sync and at the end.
set -u
B=$1; TAG=$2; shift 2
N=${N:-10}; MEMENV=${MEMENV:-/tmp/memenv}
cd "$(dirname "$0")/../.." && eval "$(bin/vso dev env --dir $MEMENV)"
unset VAULT_ADDR VAULT_TOKEN BAO_ADDR BAO_TOKEN
kubectl delete secret -A -l app.kubernetes.io/managed-by=hashicorp-vso --wait=false >/dev/null 2>&1
for k in $(seq 1 60); do
  [ "$(kubectl get secret -A -l app.kubernetes.io/managed-by=hashicorp-vso -o name 2>/dev/null | wc -l)" = 0 ] && break; sleep 1
done
OUT=/tmp/mem/run-$TAG.json
rm -f $OUT
PROBE_OUT=$OUT OPERATOR_NAMESPACE=vso-bench node ${NODE_FLAGS:---max-semi-space-size=1 --optimize-for-size --no-opt --no-maglev --liftoff-only} "$@" --disable-warning=ExperimentalWarning --import ./bench/memory/probe.mjs $B run --kubeconfig=$KUBECONFIG --operator-namespace=vso-bench --leader-elect=false --metrics-bind-address=127.0.0.1:0 --health-probe-bind-address=0 > /tmp/mem/run-$TAG.log 2>&1 &
PID=$!
T0=$(date +%s.%N)
POLL=0.5; [ "$N" -gt 100 ] && POLL=2
for k in $(seq 1 $((60 + N / 5))); do
  n=$(kubectl get secret -A -l app.kubernetes.io/managed-by=hashicorp-vso -o name 2>/dev/null | wc -l)
  [ "$n" -ge "$N" ] && break; sleep $POLL
done
T1=$(date +%s.%N)
HWM_SYNC=$(awk '/VmHWM/{print $2/1024}' /proc/$PID/status)
CPU_SYNC=$(awk '{print ($14+$15)/100}' /proc/$PID/stat)
sleep 10
CPU=$(awk '{print ($14+$15)/100}' /proc/$PID/stat)
kill -USR2 $PID; sleep 1
HWM=$(awk '/VmHWM/{print $2/1024}' /proc/$PID/status)
kill $PID; wait $PID 2>/dev/null
echo "$TAG synced=$n in $(echo "$T1 - $T0" | bc)s cpu_sync=${CPU_SYNC}s cpu=${CPU}s hwm_at_sync=$HWM_SYNC hwm=$HWM $(node bench/memory/show.mjs $OUT | tail -1 | cut -d' ' -f2-)"
