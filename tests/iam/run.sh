#!/usr/bin/env bash
# IAM as AWS evaluates it: every AWS call the built functions made under tests/sam/check_built.py
# (recorded in WORK/aws-calls.jsonl, with the names of the check's stack in WORK/stack.json) is
# evaluated against the policies template.yaml gives that function's role, after the SAM
# transform, with @cloud-copilot/iam-simulate (tests/iam/check.py). A call not allowed fails the
# run; a granted action no call used is a warning. --mutate: each used action removed from the
# template in turn must make the check fail (no rebuild: the same recorded calls).
# Installs @cloud-copilot/iam-simulate (npm ci into tests/iam/node_modules, pinned by
# package-lock.json) if missing. Called by tests/sam/build-and-check.sh; runs alone too:
#   bash tests/iam/run.sh WORK [--mutate]     (WORK: target/sam-check after a run)
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() { printf 'error: %s\n' "$*" >&2; exit 1; }
VENV=${VENV:-.venv}
SAM_VENV=${SAM_VENV:-$VENV/sam}
WORK=${1:?usage: tests/iam/run.sh WORK [--mutate]}
shift
[[ -x "$SAM_VENV/bin/python" ]] || fail "$SAM_VENV missing: tests/run.sh installs the SAM CLI there"
[[ -f "$WORK/aws-calls.jsonl" && -f "$WORK/stack.json" ]] ||
    fail "$WORK holds no recorded calls: run tests/sam/check_built.py first"
command -v node >/dev/null || fail "node is missing (apt-get install nodejs npm)"

want=$(node -p 'require("./tests/iam/package.json").dependencies["@cloud-copilot/iam-simulate"]')
have=$(node -p 'try { require("./tests/iam/node_modules/@cloud-copilot/iam-simulate/package.json").version } catch { "" }')
if [[ "$have" != "$want" ]]; then
    started=$SECONDS
    # The exact versions are in package-lock.json; the machine's own npm configuration applies.
    (cd tests/iam && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "installed @cloud-copilot/iam-simulate $want in $((SECONDS - started)) s"
fi

"$SAM_VENV/bin/python" tests/iam/check.py --template template.yaml --work "$WORK" "$@"
