#!/bin/bash
# The half-load phase: the share of each route's requests over 5/10/25 ms on the nodes
# (from their /metrics histograms) and the time threads waited in the run queue
# (/proc/*/task/*/schedstat), against what the generator saw (BENCHMARKS.md).
# Usage: scripts/bench/halfwait.sh BENCH_BINARY [checkout_load options]
. "$(dirname "$0")/common.sh"
B=$1; shift
start_bench /tmp/hw.out "$B" --seconds 10 --half-seconds 5 --get-seconds 0 --lines 0 "$@"
wait_phase /tmp/hw.out "phase flow (half load)"
sleep 1.2
find_processes
met() { for p in $PORTS; do curl -s http://$p/metrics | grep -E '^kassa_http_request_duration_seconds_(bucket|count)' | grep -E 'le="0.005"|le="0.01"|le="0.025"|_count'; done | sed 's/{.*route="\([^"]*\)".*le="\([^"]*\)".*} / \1 \2 /; s/_count{.*route="\([^"]*\)".*} / \1 count /' | awk '{a[$2" "$3]+=$4} END{for(k in a) print k, a[k]}' | sort; }
sched() { local w=0 r=0 n=0; for p in "$@"; do for t in /proc/$p/task/*/schedstat; do set -- $(cat $t 2>/dev/null) ; r=$((r+${1:-0})); w=$((w+${2:-0})); n=$((n+${3:-0})); done; done; echo "$r $w $n"; }
met > /tmp/hw.m0; s0n=$(sched $NODES); s0b=$(sched $BP); s0p=$(sched $PGS)
sleep 3
met > /tmp/hw.m1; s1n=$(sched $NODES); s1b=$(sched $BP); s1p=$(sched $PGS)
wait $BP
join -1 1 -2 1 <(awk '{print $1"|"$2, $3}' /tmp/hw.m0 | sort) <(awk '{print $1"|"$2, $3}' /tmp/hw.m1 | sort) | awk '{split($1,k,"|"); d[k[1]][k[2]]=$3-$2} END{for(r in d) if (d[r]["count"]>0) printf "%-60s n=%d >5ms %.2f%% >10ms %.2f%% >25ms %.2f%%\n", r, d[r]["count"], 100*(d[r]["count"]-d[r]["0.005"])/d[r]["count"], 100*(d[r]["count"]-d[r]["0.01"])/d[r]["count"], 100*(d[r]["count"]-d[r]["0.025"])/d[r]["count"]}'
for x in n b p; do eval a=\$s0$x; eval b=\$s1$x; set -- $a $b; echo "$x: run $(( ($4-$1)/1000000 )) ms, runqueue wait $(( ($5-$2)/1000000 )) ms, slices $(( $6-$3 )) in 3 s"; done
grep -A14 "^| step" /tmp/hw.out | cut -c1-200
grep "complete checkouts/s" /tmp/hw.out
