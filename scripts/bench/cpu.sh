#!/bin/bash
# CPU per checkout, by process group, in the full-load flow (BENCHMARKS.md).
# Usage: scripts/bench/cpu.sh BENCH_BINARY [checkout_load options, e.g. --database URL --nodes 3]
# BENCH_BINARY: the built checkout_load program (target/release/deps/checkout_load-*);
# KASSA_BIN picks the server binary it starts. Runs 20 s of full load and reads
# /proc over 6 s of it: the nodes, the generator, every postgres process, and idle time.
. "$(dirname "$0")/common.sh"
B=$1; shift
start_bench /tmp/cpu.out "$B" --seconds 20 --half-seconds 0 --get-seconds 0 --lines 0 "$@"
sleep 11
find_processes
idle0=$(idle_ticks)
n0=$(tick $NODES); b0=$(tick $BP); p0=$(tick $PGS)
sleep 6
idle1=$(idle_ticks)
n1=$(tick $NODES); b1=$(tick $BP); p1=$(tick $PGS)
wait $BP
R=$(grep -o '\*\*[0-9.,]* complete checkouts/s' /tmp/cpu.out | head -1 | tr -d '*,' | awk '{print $1}')
echo "rate=$R c/s nodes=$((n1-n0)) bench=$((b1-b0)) pg=$((p1-p0)) idle=$((idle1-idle0)) ticks/6s"
awk -v r=$R -v n=$((n1-n0)) -v b=$((b1-b0)) -v p=$((p1-p0)) 'BEGIN{c=r*6; printf "ms CPU/checkout: node %.2f pg %.2f bench %.2f total %.2f\n", n*10/c, p*10/c, b*10/c, (n+p+b)*10/c}'
