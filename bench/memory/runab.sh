#!/bin/bash
# Needs /tmp/mem (outputs) and the environment of `bin/vso dev up --dir /tmp/memenv` with bench/memory/setup10.ts run.
# usage: runab.sh BUNDLE TAG [extra node flags...]  — runs the bundle as the chart does against /tmp/memenv,
# waits for the 10 Secrets, then dumps memory stats (probe, after GC) and VmHWM; prints one line.
set -u
B=$1; TAG=$2; shift 2
cd "$(dirname "$0")/../.." && eval "$(bin/vso dev env --dir /tmp/memenv)"
unset VAULT_ADDR VAULT_TOKEN BAO_ADDR BAO_TOKEN
kubectl delete secret -A -l app.kubernetes.io/managed-by=hashicorp-vso --wait=false >/dev/null 2>&1
for i in $(seq 0 9); do kubectl delete secret -n bench-$i s-$i --ignore-not-found >/dev/null 2>&1; done
OUT=/tmp/mem/run-$TAG.json
PROBE_OUT=$OUT OPERATOR_NAMESPACE=vso-bench node --max-semi-space-size=1 --optimize-for-size "$@" --disable-warning=ExperimentalWarning --import bench/memory/probe.mjs $B run --kubeconfig=$KUBECONFIG --operator-namespace=vso-bench --leader-elect=false --metrics-bind-address=127.0.0.1:0 --health-probe-bind-address=0 > /tmp/mem/run-$TAG.log 2>&1 &
PID=$!
T0=$(date +%s.%N)
for k in $(seq 1 60); do
  n=$(kubectl get secret -A 2>/dev/null | grep -c " s-[0-9]")
  [ "$n" -ge 10 ] && break; sleep 0.5
done
T1=$(date +%s.%N)
HWM_SYNC=$(awk '/VmHWM/{print $2/1024}' /proc/$PID/status)
sleep 10
CPU=$(awk '{print ($14+$15)/100}' /proc/$PID/stat)
kill -USR2 $PID; sleep 1
HWM=$(awk '/VmHWM/{print $2/1024}' /proc/$PID/status)
kill $PID; wait $PID 2>/dev/null
echo "$TAG synced=$n in $(echo "$T1 - $T0" | bc)s cpu=${CPU}s hwm_at_sync=$HWM_SYNC hwm=$HWM $(node bench/memory/show.mjs $OUT | tail -1 | cut -d' ' -f2-)"
