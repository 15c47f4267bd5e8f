#!/usr/bin/env bash
# The fuzz campaign: builds the targets (nightly, libFuzzer, AddressSanitizer, debug assertions),
# seeds the corpora from events/ and the public vectors, runs each target in turn until RUNS
# executions or SECONDS seconds (whichever comes first), replays the final corpus one input at a
# time to find the slowest, and prints one table row per target (docs/security.md, "Fuzzing").
#
#   bash fuzz/run.sh [RUNS] [SECONDS] [TARGET...]     # defaults: 10000000 900, every target
#
# A crash or a timeout (an input running ≥ 1 s) stops that target and leaves the input in
# fuzz/artifacts/<target>/: copy it to tests/fuzz-regressions/<target>/, where the stable test
# tests/tests/fuzz_regressions.rs replays it. CARGO_TARGET_DIR is honoured (default fuzz/target).
# Everything runs under `nice` and one target at a time: these machines are shared.
set -euo pipefail
cd "$(dirname "$0")"

runs=${1:-10000000}
seconds=${2:-900}
shift $(($# < 2 ? $# : 2))
all=(body_xml body_json decrypt inner_message rules receive)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
export CARGO_TARGET_DIR=$target_dir
bin_dir=$target_dir/x86_64-unknown-linux-gnu/release
logs=$PWD/logs
mkdir -p "$logs"

command -v cargo-fuzz >/dev/null || nice -n 15 cargo install cargo-fuzz --locked
nice -n 15 cargo +nightly fuzz build -a >&2
python3 seeds.py corpus >&2

# The slowest input of a corpus, run one at a time (libFuzzer's "Executed FILE in N ms", saved in
# logs/<target>.replay); each batch of files runs in a fresh process, whose first input also pays
# for the lazy set-up. On a shared machine one pass is noisy, so every input at 10 ms or more is
# timed again on its own (three times after a warm-up, the best kept). Prints the pass's maximum,
# how many inputs reached 10 ms, and the worst of their own times.
slowest() {
    local target=$1 replay=$logs/$target.replay worst=0 file best
    find "corpus/$target" -type f -print0 |
        { xargs -0 -n 500 nice -n 15 "$bin_dir/$target" -rss_limit_mb=2048 2>&1 || true; } |
        grep '^Executed ' >"$replay" || true
    local max over
    max=$(awk '{ if ($(NF - 1) + 0 > m) m = $(NF - 1) + 0 } END { print m + 0 }' "$replay")
    mapfile -t over < <(awk '$(NF - 1) + 0 >= 10 { print $2 }' "$replay")
    for file in "${over[@]}"; do
        best=$(nice -n 15 "$bin_dir/$target" "$file" "$file" "$file" "$file" 2>&1 |
            awk '/^Executed / { n++; ms = $(NF - 1) + 0; if (n > 1 && (b == "" || ms < b)) b = ms }
                 END { print b + 0 }')
        if [ "$best" -gt "$worst" ]; then worst=$best; fi
    done
    printf '%s ms; %s at ≥ 10 ms, alone ≤ %s ms' "$max" "${#over[@]}" "$worst"
}

rows=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    log=$logs/$target.log
    start=$(date +%s.%N)
    status=0
    nice -n 15 "$bin_dir/$target" "corpus/$target" \
        -runs="$runs" -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="artifacts/$target/" 2>"$log" || status=$?
    end=$(date +%s.%N)
    wall=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", e - s }')
    execs=$(awk '/stat::number_of_executed_units/ { print $NF }' "$log")
    rate=$(awk '/stat::average_exec_per_sec/ { print $NF }' "$log")
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    files=$(find "corpus/$target" -type f | wc -l)
    bytes=$(du -sb "corpus/$target" | cut -f1)
    outcome=$([ "$status" -eq 0 ] && echo "no crash" || echo "STOPPED (exit $status, see $log)")
    slow=$(slowest "$target")
    rows+=("| $target | ${execs:-?} | ${cov:-?} | ${ft:-?} | ${wall} s | ${rate:-?} | $files ($bytes B) | $slow | $outcome |")
    echo "${rows[-1]}" >&2
done

echo "| target | executions | cov | ft | wall time | execs/s | corpus (files, bytes) | slowest input (replay pass; inputs ≥ 10 ms, timed alone) | result |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
echo
echo "$(date -u +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(cargo +nightly --version)"
