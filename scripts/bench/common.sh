# Shared by the scripts here (sourced): start the load generator, wait for a phase, find
# the processes to measure, read their CPU.

# start_bench OUT BENCH_BINARY ARGS...: runs the generator in the background from the
# repository's root, its report in OUT; sets BP to its pid.
start_bench() {
    local out=$1 bin
    bin=$(realpath "$2")
    shift 2
    cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
    "$bin" "$@" > "$out" 2>&1 &
    BP=$!
}

# wait_phase OUT PATTERN: until the generator has printed PATTERN.
wait_phase() {
    until grep -q "$2" "$1" 2>/dev/null; do sleep 0.1; done
}

# find_processes: sets PORTS (the nodes' listen addresses), NODES and PGS (pids).
find_processes() {
    PORTS=$(pgrep -af "kassa.*serve" | grep -o "listen 127.0.0.1:[0-9]*" | cut -d" " -f2)
    NODES=$(pgrep -f "kassa.*serve" | tr '\n' ' ')
    PGS=$(pgrep -x postgres | tr '\n' ' ')
}

# tick PID...: user + system CPU of the processes so far, in clock ticks.
tick() {
    local s=0 p
    for p in "$@"; do
        if [ -r "/proc/$p/stat" ]; then
            set -- $(cut -d' ' -f14-15 "/proc/$p/stat")
            s=$((s + $1 + $2))
        fi
    done
    echo $s
}

# idle_ticks: the machine's idle time so far, in clock ticks.
idle_ticks() {
    awk '/^cpu /{print $5}' /proc/stat
}
