#!/usr/bin/env bash
# The size and build time the EMF exporter adds to a function (docs/dependencies.md): the same
# Lambda function (src/main.rs) built as kefu's functions are (release: opt-level "s", LTO fat,
# one codegen unit, stripped), with kefu's hand-written line and with the exporter
# (--features exporter); each from a clean target directory of its own, with the dependencies
# already downloaded. Prints the crates the exporter adds and are not in kefu's Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")"
cargo fetch --quiet
for variant in hand-written exporter; do
    dir=target/size-$variant
    rm -rf "$dir"
    flags=()
    [[ $variant == exporter ]] && flags=(--features exporter)
    started=$(date +%s.%N)
    CARGO_TARGET_DIR=$dir cargo build --release --quiet "${flags[@]}"
    ended=$(date +%s.%N)
    bytes=$(stat -c %s "$dir/release/emf-crate")
    crates=$(CARGO_TARGET_DIR=$dir cargo tree -e normal --prefix none "${flags[@]}" | sed 's/ (\*)//' | sort -u | wc -l)
    printf '%-13s %9d bytes  %3d crates  clean release build %5.1f s\n' "$variant" "$bytes" "$crates" "$(echo "$ended - $started" | bc)"
done
echo "crates the exporter adds that kefu's Cargo.lock does not have:"
comm -13 <(cargo tree -e normal --prefix none | sed 's/ (\*)//; s/ v/ /' | awk '{print $1}' | sort -u) \
         <(cargo tree -e normal --prefix none --features exporter | sed 's/ (\*)//; s/ v/ /' | awk '{print $1}' | sort -u) |
    while read -r name; do
        if grep -q "^name = \"$name\"$" ../../../Cargo.lock; then echo "  $name (already in kefu's lock)"; else echo "  $name (new)"; fi
    done
