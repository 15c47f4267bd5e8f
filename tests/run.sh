#!/usr/bin/env bash
# Runs every test kefu has, on a fresh clone: formatting, lints, then all test suites.
# Everything the tests need is installed and started from here, and stopped on exit:
# the AWS adapters are tested through the real SDK against a moto server on loopback
# (see shared/docs/local-stack.md), installed into .venv and started on a free port.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

MOTO_VERSION=5.2.5
VENV=.venv
MOTO_LOG=target/moto.log
MOTO_PID=

stop_moto() {
    if [[ -n "$MOTO_PID" ]] && kill -0 "$MOTO_PID" 2>/dev/null; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
    fi
}
trap stop_moto EXIT

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "moto server $MOTO_VERSION (in $VENV)"
if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
# (grep without -q reads all of pip's output: with pipefail, an early exit would fail pip.)
if [[ -x "$VENV/bin/moto_server" ]] &&
    "$VENV/bin/pip" show moto 2>/dev/null | grep -x "Version: $MOTO_VERSION" >/dev/null; then
    echo "moto $MOTO_VERSION already installed"
else
    started=$SECONDS
    # The machine's normal package index configuration; no index URL here.
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    echo "installed moto $MOTO_VERSION in $((SECONDS - started)) s"
fi

step "start moto server on 127.0.0.1"
# A port the kernel just handed out, so parallel runs and other services do not collide.
MOTO_PORT=$("$VENV/bin/python" -c \
    'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
MOTO_URL="http://127.0.0.1:$MOTO_PORT"
mkdir -p "$(dirname "$MOTO_LOG")"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$MOTO_LOG" 2>&1 &
MOTO_PID=$!
ready=
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
        tail -n 20 "$MOTO_LOG" >&2 || true
        fail "moto server exited during startup (log: $MOTO_LOG)"
    fi
    if "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "$MOTO_URL/moto-api/" >/dev/null 2>&1; then
        ready=1
        break
    fi
    sleep 0.2
done
if [[ -z "$ready" ]]; then
    tail -n 20 "$MOTO_LOG" >&2 || true
    fail "moto server did not answer GET $MOTO_URL/moto-api/ within 30 s (log: $MOTO_LOG)"
fi
echo "moto server ready at $MOTO_URL (pid $MOTO_PID, log: $MOTO_LOG)"

# For the tests: the server's address (tests/src/aws.rs) and dummy credentials, so that no
# test can reach a real AWS account.
export KEFU_TEST_AWS_ENDPOINT="$MOTO_URL"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true

step "test suites"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi
