#!/usr/bin/env bash
# The figures of docs/benchmarks.md's "Cold start and size" section (not run by CI; timings
# mean something only natively, so this builds for the host, x86_64 here):
#   1. release builds of receive, reply and the hello-world baseline
#      (functions/receive/examples/hello_world.rs: receive's lambda_http, same profile), each
#      package on its own as a deployment builds it, with symbols kept (for the breakdown);
#   2. stripped copies (binutils strip, as the profile's strip = "symbols") are what runs;
#   3. the code size per crate of the unstripped binaries (tests/bench/size_breakdown.py);
#   4. moto and the WeChat sandbox (`kefu dev`) on free loopback ports, then
#      tests/bench/cold_start.py: init, first and warm invocations, CPU of all threads, new
#      connections, peak RSS, median of ROUNDS (default 5).
# Usage: bash tests/bench/cold-start.sh   (after bash tests/run.sh has made .venv)
# KEFU_LAMBDA_TARGET_DIR: cargo's target dir for the release builds (default: target).
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${VENV:-.venv}
PY="$VENV/bin/python"
ROUNDS=${ROUNDS:-5}
[[ -x "$VENV/bin/moto_server" ]] || { echo "error: $VENV has no moto_server: run tests/run.sh once" >&2; exit 1; }
RELEASE_DIR="${KEFU_LAMBDA_TARGET_DIR:-${CARGO_TARGET_DIR:-target}}"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

export CARGO_PROFILE_RELEASE_STRIP=none
CARGO_TARGET_DIR="$RELEASE_DIR" cargo build --release --locked -p receive --bin receive --example hello_world
CARGO_TARGET_DIR="$RELEASE_DIR" cargo build --release --locked -p reply --bin reply
unset CARGO_PROFILE_RELEASE_STRIP
mkdir -p "$WORK/bin"
for binary in release/receive release/reply release/examples/hello_world; do
    strip -o "$WORK/bin/$(basename "$binary")" "$RELEASE_DIR/$binary"
done

echo
echo "code size by crate (.text, unstripped symbols)"
"$PY" tests/bench/size_breakdown.py "$RELEASE_DIR/release/receive" "$RELEASE_DIR/release/reply" \
    "$RELEASE_DIR/release/examples/hello_world"

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
wait_port() {
    for _ in $(seq 150); do
        "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
            "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    echo "error: nothing listens on 127.0.0.1:$1" >&2
    exit 1
}
MOTO_PORT=$(free_port)
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
PIDS+=($!)
cargo build --workspace --locked --bin kefu
SANDBOX_PORT=$(free_port)
"${CARGO_TARGET_DIR:-target}/debug/kefu" dev --port "$SANDBOX_PORT" >"$WORK/sandbox.log" 2>&1 &
PIDS+=($!)
wait_port "$MOTO_PORT"
wait_port "$SANDBOX_PORT"

AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
    "$PY" tests/bench/cold_start.py --bin-dir "$WORK/bin" --rounds "$ROUNDS" \
    --moto "http://127.0.0.1:$MOTO_PORT" --sandbox "http://127.0.0.1:$SANDBOX_PORT"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(rustc --version)"
