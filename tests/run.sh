#!/usr/bin/env bash
# Runs every test kefu has, on a fresh clone: formatting, lints, template checks, `sam build` and
# the built Lambda binaries under a local Lambda runtime, the chat window in a browser, then all
# test suites.
# Everything the tests need is installed and started from here, and stopped on exit:
# the AWS adapters are tested through the real SDK against a moto server on loopback
# (docs/local-stack.md), installed into .venv and started on a free port;
# cfn-lint and cargo-lambda go into the same .venv, the AWS SAM CLI into .venv/sam.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

MOTO_VERSION=5.2.5
CFN_LINT_VERSION=1.58.0
CARGO_LAMBDA_VERSION=1.9.2
SAM_CLI_VERSION=1.170.0
VENV=.venv
# Its own venv: aws-sam-cli pins older boto3/botocore/click/pydantic than moto[server] wants,
# and would downgrade them under the moto server.
SAM_VENV=$VENV/sam
MOTO_LOG=target/moto.log
MOTO_PID=

stop_moto() {
    if [[ -n "$MOTO_PID" ]] && kill -0 "$MOTO_PID" 2>/dev/null; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
    fi
}
trap stop_moto EXIT

# pip_ensure VENV DIST VERSION BIN SPEC...: installs SPECs into VENV unless DIST VERSION and
# VENV/bin/BIN are already there.
pip_ensure() {
    local venv=$1 dist=$2 version=$3 bin=$4 started
    shift 4
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv"
    fi
    # (grep without -q reads all of pip's output: with pipefail, an early exit would fail pip.)
    if [[ -x "$venv/bin/$bin" ]] &&
        "$venv/bin/pip" show "$dist" 2>/dev/null | grep -x "Version: $version" >/dev/null; then
        echo "$dist $version already installed"
    else
        started=$SECONDS
        # The machine's normal package index configuration; no index URL here.
        "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
        echo "installed $dist $version in $((SECONDS - started)) s"
    fi
}

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "moto server $MOTO_VERSION, cfn-lint $CFN_LINT_VERSION, cargo-lambda $CARGO_LAMBDA_VERSION (in $VENV)"
pip_ensure "$VENV" moto "$MOTO_VERSION" moto_server "moto[server]==$MOTO_VERSION"
pip_ensure "$VENV" cfn-lint "$CFN_LINT_VERSION" cfn-lint "cfn-lint==$CFN_LINT_VERSION"
# The Python package ships the prebuilt binary (and zig, which only cross-builds need);
# `cargo install cargo-lambda` would compile for ~25 minutes.
pip_ensure "$VENV" cargo-lambda "$CARGO_LAMBDA_VERSION" cargo-lambda "cargo-lambda==$CARGO_LAMBDA_VERSION"

step "aws-sam-cli $SAM_CLI_VERSION (in $SAM_VENV)"
# ~30 s on a fresh machine, then skipped; `sam validate --lint` itself takes ~3 s.
pip_ensure "$SAM_VENV" aws-sam-cli "$SAM_CLI_VERSION" sam \
    "aws-sam-cli==$SAM_CLI_VERSION" "cfn-lint==$CFN_LINT_VERSION"

step "template.yaml: cfn-lint, sam validate --lint"
# Errors and warnings both fail the run (cfn-lint's exit status is non-zero for either); the
# template has neither. Informational rules (off by default; -c I) only ask the SQS queues for
# an explicit deletion policy and retention period: the defaults (deleted with the stack; jobs
# kept 4 days) are what we want.
# If a warning is ever a false positive, ignore that rule alone (-i W1234) and say why here.
"$VENV/bin/cfn-lint" template.yaml
echo "cfn-lint: no errors or warnings"
# Offline: dummy credentials, no telemetry; samconfig.toml's validate section sets lint = true.
SAM_CLI_TELEMETRY=0 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
    AWS_EC2_METADATA_DISABLED=true "$SAM_VENV/bin/sam" validate --lint --template template.yaml

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

# The built bootstraps answer events/ below, under a local Lambda Runtime API: the same checks
# tests/lambda/check.sh makes under `cargo lambda watch` (kept for running by hand: it builds the
# binaries a second time, with per-package features, which the time budget cannot afford).
step "sam build (arm64, as deployed); the built bootstraps under a local Lambda Runtime API"
bash tests/sam/build-and-check.sh

bash tests/browser/run.sh

step "test suites"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi
