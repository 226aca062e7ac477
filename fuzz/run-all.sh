#!/usr/bin/env bash
# Runs each fuzz target for the given seconds (default 600), one after the
# other, with the committed seed corpus read-only and new inputs under
# fuzz/work/. cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP enables
# them on the stable toolchain. Crashes land in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-600}"
for t in parse validate run_sim wgsl; do
    mkdir -p "work/$t"
    echo "== $t for ${secs}s"
    RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$t" "work/$t" "corpus/$t" -- \
        -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
