#!/bin/bash
# The GET phase alone: CPU per GET by process group and each node's cart-read figures
# (reads per statement, copies against documents) from /metrics (BENCHMARKS.md).
# Usage: scripts/bench/getm.sh BENCH_BINARY [checkout_load options]
. "$(dirname "$0")/common.sh"
B=$1; shift
start_bench /tmp/getm.out "$B" --seconds 1 --half-seconds 0 --get-seconds 8 --lines 0 "$@"
wait_phase /tmp/getm.out "phase get-checkout"
sleep 2.5
find_processes
m() { for p in $PORTS; do echo "$p $(curl -s http://$p/metrics | grep -E '^kassa_cart_(reads|read_statements|documents)_total' | awk '{printf "%s ", $2}')"; done; }
m > /tmp/getm.m0
idle0=$(idle_ticks); n0=$(tick $NODES); b0=$(tick $BP); p0=$(tick $PGS)
sleep 4
idle1=$(idle_ticks); n1=$(tick $NODES); b1=$(tick $BP); p1=$(tick $PGS)
m > /tmp/getm.m1
wait $BP
grep -E "GET /checkouts|baseline:|GET checkout /" /tmp/getm.out
R=$(paste /tmp/getm.m0 /tmp/getm.m1 | awk '{r+=$7-$2} END{print r/4}')
paste /tmp/getm.m0 /tmp/getm.m1 | awk '{printf "node %s: reads %d statements %d (%.1f per statement) copy %d database %d\n", $1, $7-$2, $8-$3, ($7-$2)/($8-$3+0.001), $9-$4, $10-$5}'
awk -v r=$R -v n=$((n1-n0)) -v b=$((b1-b0)) -v p=$((p1-p0)) -v i=$((idle1-idle0)) 'BEGIN{printf "GETs/s (metrics) %.0f; CPU per GET: node %.1f bench %.1f pg %.1f us; idle %.1f%%\n", r, n*1e4/(r*4), b*1e4/(r*4), p*1e4/(r*4), i/8}'
