#!/usr/bin/env bash
# Runs Kassa's cargo-fuzz targets (fuzz/) for a fixed time each: `request_bodies`
# (the main wire types' JSON bodies, parsed and converted as their handlers do) and
# `money` (amounts and quantities: no panic, format/parse round trips).
#
#   scripts/fuzz-parsers.sh [SECONDS_PER_TARGET] [TARGET…]
#
# Needs the nightly toolchain and `cargo install cargo-fuzz`. Each target starts from
# the seeds in fuzz/seeds/TARGET and keeps what it learns in fuzz/corpus/TARGET (not
# committed). A failing input is saved under fuzz/artifacts/TARGET and fails the run.
# Debug assertions are on (integer overflow panics). FUZZ_SANITIZER picks the sanitizer
# (default `address`; `none` builds much faster and still finds every panic, which is
# what safe Rust fails with). CARGO_TARGET_DIR and CARGO_BUILD_JOBS are honoured (the
# first build compiles every dependency in release mode: about 40 minutes at one job).
# A `slow-unit-*` file in fuzz/artifacts is an input that took over 10 s once; it does not
# fail the run, and on a busy machine it is usually the scheduler: replay it with
# `cargo +nightly fuzz run --sanitizer none --debug-assertions TARGET FILE`, which prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(request_bodies money)

for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    echo "== cargo fuzz run $t for ${seconds}s"
    cargo +nightly fuzz run --sanitizer "${FUZZ_SANITIZER:-address}" --debug-assertions \
        "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$seconds" -print_final_stats=1
    echo "== $t: $(find "fuzz/corpus/$t" -type f | wc -l) inputs in fuzz/corpus/$t"
done
