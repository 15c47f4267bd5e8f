#!/usr/bin/env bash
# Shows that the IAM check notices each grant the functions need: for every (function, action)
# the recorded calls use, removes the action from that function's statements in template.yaml
# and evaluates the same calls again; each removal must deny a call the template allows.
# Exit status 1 if a removal goes unnoticed. Needs a finished check (tests/sam/build-and-check.sh).
#   bash tests/iam/mutations.sh [WORK]       (default: target/sam-check)
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash tests/iam/run.sh "${1:-${CARGO_TARGET_DIR:-target}/sam-check}" --mutate
