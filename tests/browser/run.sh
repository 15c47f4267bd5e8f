#!/usr/bin/env bash
# The chat window of `kefu dev` in a real browser: starts `kefu dev` (the binary, built here) on
# a free port with a copy of the sample rules, drives the page at / in Debian's chromium through
# playwright-core, and saves screenshots to target/browser/kefu-dev-chat.png (and -390.png, the
# page 390 px wide).
# Installs what it needs: chromium and a CJK font (apt, once) and playwright-core (npm, into tests/browser,
# without its own browser download). Called by tests/run.sh; runs alone too.
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() { printf 'error: %s\n' "$*" >&2; exit 1; }
printf '\n==> %s\n' "the chat window of kefu dev in chromium (tests/browser/run.sh)"
started=$SECONDS
CHROMIUM=/usr/bin/chromium
OUT=target/browser
mkdir -p "$OUT"

# Debian's chromium, and a small CJK font so that the screenshot shows the Chinese text.
if [[ ! -x "$CHROMIUM" ]] || ! fc-list 2>/dev/null | grep -i "WenQuanYi Micro Hei" >/dev/null; then
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || fail "chromium is missing and installing it needs root (apt-get install chromium)"
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
    echo "installed chromium and fonts-wqy-microhei: $("$CHROMIUM" --version 2>/dev/null)"
fi
command -v node >/dev/null || fail "node is missing (apt-get install nodejs npm)"
if [[ ! -f tests/browser/node_modules/playwright-core/package.json ]]; then
    # The exact version is pinned in package.json; the machine's own npm configuration applies.
    (cd tests/browser && npm install --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null)
    echo "installed playwright-core $(node -p 'require("./tests/browser/node_modules/playwright-core/package.json").version')"
fi

cargo build --locked --quiet -p kefu-cli
KEFU="${CARGO_TARGET_DIR:-target}/debug/kefu"

# A copy of the sample rules, so that the test can edit them while kefu dev runs.
RULES=$(mktemp -d)/rules.json
cp rules/sample.json "$RULES"
PORT=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
LOG="$OUT/kefu-dev.log"
# NO_COLOR: the log is read back by the test.
env -u KEFU_TOKEN -u KEFU_AES_KEY -u KEFU_APPID -u WECHAT_API_BASE -u KEFU_RULES NO_COLOR=1 "$KEFU" dev --port "$PORT" --rules "$RULES" \
    >"$LOG" 2>&1 &
DEV_PID=$!
stop() {
    kill "$DEV_PID" 2>/dev/null || true
    wait "$DEV_PID" 2>/dev/null || true
    rm -rf "$(dirname "$RULES")"
}
trap stop EXIT

status=0
KEFU_DEV_URL="http://127.0.0.1:$PORT" KEFU_RULES_FILE="$RULES" KEFU_DEV_LOG="$LOG" \
    CHROMIUM="$CHROMIUM" SCREENSHOT="$OUT/kefu-dev-chat.png" \
    node tests/browser/chat.mjs || status=$?
if ((status == 0)); then
    KEFU_DEV_URL="http://127.0.0.1:$PORT" KEFU_RULES_FILE="$RULES" CHROMIUM="$CHROMIUM" \
        SCREENSHOT="$OUT/kefu-dev-report.png" node tests/browser/report.mjs || status=$?
fi
if ((status != 0)); then
    echo "--- kefu dev's output ($LOG):" >&2
    tail -n 40 "$LOG" >&2 || true
    fail "the chat window (or report page) test failed"
fi
echo "browser test passed in $((SECONDS - started)) s; screenshots: $OUT/kefu-dev-chat.png, $OUT/kefu-dev-chat-390.png, $OUT/kefu-dev-report.png, $OUT/kefu-dev-report-390.png"
