#!/usr/bin/env bash
# `sam build` on the real template, then the functions it built, run as Lambda runs them:
#   1. installs what the build and the run need, if missing: the Rust target of the template's
#      Architecture (arm64 by default: aarch64-unknown-linux-gnu; cargo-lambda cross-links with
#      the zig its Python package brings) and, on a host of another CPU, user-mode qemu with the
#      arm64 C library (apt-get; Debian's multiarch);
#   2. `sam build` (SAM's cargo-lambda builder, release profile) into .aws-sam/build;
#   3. builds `kefu` (debug) and serves the WeChat sandbox with `kefu dev` on a free port;
#   4. tests/sam/check_built.py: each .aws-sam/build/<Function>/bootstrap under the local Lambda
#      Runtime API (tests/sam/lambda_runtime.py), against moto and the sandbox (see there);
#   5. tests/iam/run.sh: every AWS call the bootstraps made in 4 (recorded on their way to moto),
#      evaluated against the template's IAM policies as AWS evaluates them (moto allows all);
#   6. prints the bootstraps' sizes, raw and zipped as `sam deploy` uploads them.
# Called by tests/run.sh after the cargo lambda watch checks (needs KEFU_TEST_AWS_ENDPOINT, the
# .venv with cargo-lambda and moto, .venv/sam with the SAM CLI).
# KEFU_LAMBDA_TARGET_DIR: cargo's target dir for the release build (default: CARGO_TARGET_DIR,
# else target; a separate one keeps debug builds running beside it).
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${VENV:-.venv}
SAM_VENV=${SAM_VENV:-$VENV/sam}
PY="$VENV/bin/python"
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }
as_root() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }

[[ -n "${KEFU_TEST_AWS_ENDPOINT:-}" ]] ||
    fail "KEFU_TEST_AWS_ENDPOINT is not set: run this through tests/run.sh (it starts moto)"
[[ -x "$VENV/bin/cargo-lambda" ]] || fail "$VENV/bin/cargo-lambda missing: tests/run.sh installs it"
[[ -x "$SAM_VENV/bin/sam" ]] || fail "$SAM_VENV/bin/sam missing: tests/run.sh installs it"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
WORK="$CARGO_TARGET_DIR/sam-check"
rm -rf "$WORK"
mkdir -p "$WORK"

# 1. The template's Architecture default is what `sam build` builds.
arch=$(sed -n '/^  Architecture:/,/^  [A-Za-z]/s/^    Default: *//p' template.yaml)
case "$arch" in
    arm64) rust_target=aarch64-unknown-linux-gnu cpu=aarch64 deb_arch=arm64 ;;
    x86_64) rust_target=x86_64-unknown-linux-gnu cpu=x86_64 deb_arch=amd64 ;;
    *) fail "template.yaml: Architecture's default is '$arch', expected arm64 or x86_64" ;;
esac
if ! rustup target list --installed | grep -qx "$rust_target"; then
    rustup target add "$rust_target"
fi
QEMU=
if [[ "$(uname -m)" != "$cpu" ]]; then
    QEMU=qemu-$cpu-static
    if ! command -v "$QEMU" >/dev/null || [[ ! -e /lib/$cpu-linux-gnu/libc.so.6 ]]; then
        started=$SECONDS
        as_root dpkg --add-architecture "$deb_arch"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq \
            qemu-user-static "libc6:$deb_arch" "libgcc-s1:$deb_arch" >/dev/null
        echo "installed qemu-user-static, libc6:$deb_arch, libgcc-s1:$deb_arch in $((SECONDS - started)) s"
    fi
fi

# `sam build` reads samconfig.toml: a parallel build starts both functions' cargo-lambda at once,
# and on an empty cargo-zigbuild cache (a fresh machine) both create the same zig wrapper links:
# one fails, by chance, with "File exists (os error 17)" (docs/local-stack.md).
if sed -n '/^\[default\.build\.parameters\]/,/^\[/p' samconfig.toml | grep -Eq '^ *parallel *= *true'; then
    fail "samconfig.toml: [default.build.parameters] parallel = true makes the first sam build fail by chance (docs/local-stack.md); set it to false"
fi

# 2. The real command on the real template. Not cached: SAM's cache key hashes the whole
# CodeUri (the repository, target/ and .venv included), and cargo's own target dir is the
# cache that matters.
started=$SECONDS
PATH="$(cd "$VENV/bin" && pwd):$PATH" SAM_CLI_BETA_RUST_CARGO_LAMBDA=1 SAM_CLI_TELEMETRY=0 \
    CARGO_TARGET_DIR="${KEFU_LAMBDA_TARGET_DIR:-$CARGO_TARGET_DIR}" \
    "$SAM_VENV/bin/sam" build --no-cached --template template.yaml
echo "sam build ($arch) took $((SECONDS - started)) s"

# 3. The WeChat sandbox, as `kefu dev` serves it, knowing the two apps of tests/sam/apps.json:
# the sample deployment's (as the secrets setup_moto.py creates) and a second app, which
# check_built.py serves from an apps path. Built with the workspace's features, as the test suites build
# everything next: the units are theirs, so this adds little (`-p kefu-cli` alone would resolve
# hyper with its server features for this binary only and rebuild the AWS SDK stack).
cargo build --workspace --locked --bin kefu
PORT=$("$PY" -c \
    'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$CARGO_TARGET_DIR/debug/kefu" dev --apps tests/sam/apps.json --port "$PORT" >"$WORK/sandbox.log" 2>&1 &
SANDBOX_PID=$!
trap 'kill "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true' EXIT
ready=
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
    kill -0 "$SANDBOX_PID" 2>/dev/null || { cat "$WORK/sandbox.log" >&2; fail "kefu dev exited"; }
    if "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
        "$PORT" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.2
done
[[ -n "$ready" ]] || { cat "$WORK/sandbox.log" >&2; fail "kefu dev did not listen on 127.0.0.1:$PORT"; }

# 4.
"$PY" tests/sam/check_built.py --build-dir .aws-sam/build --moto "$KEFU_TEST_AWS_ENDPOINT" \
    --sandbox "http://127.0.0.1:$PORT" --work "$WORK" ${QEMU:+--qemu "$QEMU"}

# 5. A call the deployed role would refuse fails here, not in production.
started=$SECONDS
bash tests/iam/run.sh "$WORK"
echo "IAM check took $((SECONDS - started)) s"

# 6. For docs/benchmarks.md (figures, not checks).
"$PY" - .aws-sam/build "$arch" <<'EOF'
import io, pathlib, sys, zipfile
for function in ["ReceiveFunction", "ReplyFunction"]:
    bootstrap = pathlib.Path(sys.argv[1]) / function / "bootstrap"
    data = bootstrap.read_bytes()
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bootstrap", data)
    print(f"size  {function:<16} {sys.argv[2]} bootstrap {len(data) / 1e6:.2f} MB, "
          f"zipped {len(packed.getvalue()) / 1e6:.2f} MB")
EOF
