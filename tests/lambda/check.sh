#!/usr/bin/env bash
# Runs the two Lambda binaries under `cargo lambda watch` (the Docker-free twin of
# `sam local invoke`), against the moto server tests/run.sh started, and checks each answer:
#   - `receive`, for every API Gateway event in the first table of events/README.md: the
#     statusCode and body that table gives (a transfer row: 200 and an encrypted passive reply,
#     whose MsgSignature is checked with the sample Token), then the number of jobs on the
#     queue against the table's "job" column;
#   - `reply`, for events/sqs-reply-text.json as it is: `{"batchItemFailures": []}`. Its job was
#     received in 2024, far beyond WeChat's 48 h send window, so the worker drops it (counted)
#     without sending anything;
#   - `reply`, for the same job re-stamped now for a new user: no WeChat sandbox runs in this
#     step, so WECHAT_API_BASE is http://127.0.0.1:9 (discard port: connection refused). The
#     worker takes the send, fails to fetch an access_token, and reports the job as a batch
#     item failure (transient, so SQS would redeliver it): proof that the binary ran the job as
#     far as WeChat. The worker's "job will be retried" log line for it is checked too.
# The events in events/ were signed once, in 2024, in every mode: setup_moto.py's environment
# accepts plaintext and skips the timestamp window; both checks are tested in the suites.
# Called by tests/run.sh before the test suites (needs KEFU_TEST_AWS_ENDPOINT, cargo-lambda in
# .venv); every resource it creates in moto has a fresh random name. The watch process (and the
# function processes it spawned) is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${VENV:-.venv}
PY="$VENV/bin/python"
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

[[ -n "${KEFU_TEST_AWS_ENDPOINT:-}" ]] ||
    fail "KEFU_TEST_AWS_ENDPOINT is not set: run this through tests/run.sh (it starts moto)"
[[ -x "$VENV/bin/cargo-lambda" ]] || fail "$VENV/bin/cargo-lambda missing: tests/run.sh installs it"
# `cargo lambda` finds cargo-lambda on PATH. Its --target-dir flag is broken: the variable
# makes it (and its `cargo run`) reuse the build in ./target.
export PATH="$PWD/$VENV/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

WORK="$CARGO_TARGET_DIR/lambda-check"
rm -rf "$WORK"
mkdir -p "$WORK"
WATCH_LOG="$WORK/watch.log"
WATCH_PID=

stop_watch() {
    if [[ -n "$WATCH_PID" ]] && kill -0 "$WATCH_PID" 2>/dev/null; then
        # Its own process group (setsid below): cargo lambda, its `cargo run`s and the functions.
        kill -TERM -- "-$WATCH_PID" 2>/dev/null || true
        wait "$WATCH_PID" 2>/dev/null || true
    fi
}
trap stop_watch EXIT

watch_log_tail() {
    printf -- '--- last lines of %s ---\n' "$WATCH_LOG" >&2
    tail -n 30 "$WATCH_LOG" >&2 || true
}

echo "creating the table, queue, rules and secrets in moto"
"$PY" tests/lambda/setup_moto.py "$KEFU_TEST_AWS_ENDPOINT" >"$WORK/function.env"
cat >>"$WORK/function.env" <<'EOF'
WECHAT_API_BASE=http://127.0.0.1:9
RUST_LOG=info
EOF
sed 's/^/  /' "$WORK/function.env"
QUEUE_URL=$(sed -n 's/^KEFU_QUEUE_URL=//p' "$WORK/function.env")

# The binaries as `cargo lambda watch` builds them: `cargo run --bin NAME` resolves features for
# that package alone, as a deployment build does, not unified with the test suites' dev-deps. So
# on a fresh machine this compiles the AWS SDK stack, kefu and the lambda crates a second time
# (the two binaries share those ~35 units); on a warm target it takes a second. Built here so
# that a compile error shows in this step's output and no invocation waits for a build.
for bin in receive reply; do
    cargo build --locked --bin "$bin"
done

PORT=$("$PY" -c \
    'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
setsid cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$PORT" \
    --env-file "$WORK/function.env" >"$WATCH_LOG" 2>&1 &
WATCH_PID=$!
ready=
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
    kill -0 "$WATCH_PID" 2>/dev/null || { watch_log_tail; fail "cargo lambda watch exited during startup"; }
    if "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
        "$PORT" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.2
done
[[ -n "$ready" ]] || { watch_log_tail; fail "cargo lambda watch did not listen on 127.0.0.1:$PORT within 30 s"; }
echo "cargo lambda watch on 127.0.0.1:$PORT (pid $WATCH_PID, log: $WATCH_LOG)"

# Prints the function's answer; fails if the invocation does. Bounded: a function that dies at
# start leaves `cargo lambda invoke` waiting forever.
invoke() {
    local function=$1 file=$2 out
    if ! out=$(timeout 60 cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$PORT" \
        --output-format json "$function" --data-file "$file" </dev/null 2>"$WORK/invoke.err"); then
        cat "$WORK/invoke.err" >&2
        watch_log_tail
        fail "cargo lambda invoke $function --data-file $file failed (or took over 60 s)"
    fi
    printf '%s' "$out"
}

# The first table of events/README.md: event, status, body, job.
"$PY" - >"$WORK/expected.tsv" <<'EOF'
import re
section = open("events/README.md", encoding="utf-8").read().split("## What each event gets", 1)[1]
for line in section.split("\n\n", 2)[1].splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 5 or not cells[0].startswith("`"):
        continue
    event, _, status, body, job = cells
    print("\t".join([event.strip("`"), status, body.strip("`"), job]))
EOF
[[ $(wc -l <"$WORK/expected.tsv") -ge 10 ]] ||
    fail "found $(wc -l <"$WORK/expected.tsv") rows in events/README.md's first table; expected its 11 events"

failures=0
jobs_expected=0
while IFS=$'\t' read -r event status body job; do
    answer=$(invoke receive "events/$event")
    if verdict=$(ANSWER="$answer" STATUS="$status" BODY="$body" "$PY" - <<'EOF'
import hashlib, json, os, re, sys
answer = json.loads(os.environ["ANSWER"])
status, body = int(os.environ["STATUS"]), os.environ["BODY"]
got_status, got_body = answer.get("statusCode"), answer.get("body") or ""
if got_status != status:
    sys.exit(f"statusCode {got_status}, expected {status} (body {got_body!r})")
if body.startswith("transfer_customer_service"):
    # An encrypted passive reply: Encrypt, MsgSignature, TimeStamp, Nonce, in the push's format.
    if body.endswith("JSON"):
        fields = {k: str(v) for k, v in json.loads(got_body).items()}
    else:
        if not got_body.startswith("<xml>"):
            sys.exit(f"expected an XML reply, got {got_body!r}")
        fields = {}
        for key in ["Encrypt", "MsgSignature", "TimeStamp", "Nonce"]:
            found = re.search(rf"<{key}>(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))</{key}>", got_body)
            if found:
                fields[key] = found.group(1) if found.group(1) is not None else found.group(2)
    if "Encrypt" not in fields:
        sys.exit(f"no Encrypt in the transfer reply {got_body!r}")
    parts = sorted(["kefu-sample-token", fields["TimeStamp"], fields["Nonce"], fields["Encrypt"]])
    if hashlib.sha1("".join(parts).encode()).hexdigest() != fields.get("MsgSignature"):
        sys.exit(f"MsgSignature is not sha1(sort(Token, TimeStamp, Nonce, Encrypt)): {got_body!r}")
    print(f"{got_status} encrypted {body.rsplit(' ', 1)[-1]} reply, MsgSignature verified")
elif got_body != body:
    sys.exit(f"body {got_body!r}, expected {body!r}")
else:
    print(f"{got_status} {got_body!r}")
EOF
    ); then
        printf 'ok    receive %-32s %s\n' "$event" "$verdict"
    else
        printf 'FAIL  receive %-32s (see above)\n' "$event"
        failures=$((failures + 1))
    fi
    if [[ "$job" == yes ]]; then
        jobs_expected=$((jobs_expected + 1))
    fi
done <"$WORK/expected.tsv"

jobs_queued=$("$PY" -c '
import sys, boto3
sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
attributes = sqs.get_queue_attributes(QueueUrl=sys.argv[2], AttributeNames=["ApproximateNumberOfMessages"])
print(attributes["Attributes"]["ApproximateNumberOfMessages"])' "$KEFU_TEST_AWS_ENDPOINT" "$QUEUE_URL")
if [[ "$jobs_queued" == "$jobs_expected" ]]; then
    printf 'ok    receive queued %s jobs (the rows with job = yes)\n' "$jobs_queued"
else
    printf 'FAIL  receive queued %s jobs; events/README.md has %s rows with job = yes\n' \
        "$jobs_queued" "$jobs_expected" >&2
    failures=$((failures + 1))
fi

# reply: the event as it is, then re-stamped now for a new user (see the header).
# The answer's batchItemFailures as compact JSON (or the whole answer, if it has none).
batch_failures() {
    "$PY" -c '
import json, sys
answer = json.loads(sys.argv[1])
print(json.dumps(answer.get("batchItemFailures", answer), separators=(",", ":")))' "$1"
}
answer=$(invoke reply events/sqs-reply-text.json)
failed=$(batch_failures "$answer")
if [[ "$failed" == "[]" ]]; then
    printf 'ok    reply   %-32s batchItemFailures %s\n' sqs-reply-text.json "$failed"
else
    printf 'FAIL  reply   %-32s batchItemFailures %s; expected []\n' sqs-reply-text.json "$failed" >&2
    failures=$((failures + 1))
fi

MESSAGE_ID=$("$PY" - "$WORK/sqs-reply-now.json" <<'EOF'
import json, secrets, sys, time
event = json.load(open("events/sqs-reply-text.json", encoding="utf-8"))
record = event["Records"][0]
job = json.loads(record["body"])
now = int(time.time() * 1000)
msg_id = f"{now}{secrets.randbelow(10**6):06d}"
openid = f"oKefu-Lambda-Check-{secrets.token_hex(5)}"
job.update(openid=openid, received_at=now, key=f"push#{job['appid']}#{msg_id}")
job["message"].update(from_user_name=openid, create_time=now // 1000, msg_id=msg_id)
record.update(body=json.dumps(job, ensure_ascii=False), messageId=f"kefu-lambda-check-{msg_id}")
json.dump(event, open(sys.argv[1], "w", encoding="utf-8"), ensure_ascii=False, indent=2)
print(record["messageId"])
EOF
)
answer=$(invoke reply "$WORK/sqs-reply-now.json")
failed=$(batch_failures "$answer")
if [[ "$failed" != "[{\"itemIdentifier\":\"$MESSAGE_ID\"}]" ]]; then
    printf 'FAIL  reply   %-32s batchItemFailures %s; expected the job %s\n' \
        "fresh job, WeChat refused" "$failed" "$MESSAGE_ID" >&2
    failures=$((failures + 1))
elif ! grep -F '"job will be retried"' "$WATCH_LOG" | grep -F "\"$MESSAGE_ID\"" | grep -qF unreached; then
    printf 'FAIL  reply   %-32s no "job will be retried" log line (WeChat unreached) for %s\n' \
        "fresh job, WeChat refused" "$MESSAGE_ID" >&2
    failures=$((failures + 1))
else
    printf 'ok    reply   %-32s batchItemFailures %s (transient: WeChat refused)\n' \
        "fresh job, WeChat refused" "$failed"
fi

if ((failures > 0)); then
    watch_log_tail
    fail "$failures Lambda check(s) failed (function log: $WATCH_LOG)"
fi
echo "all Lambda checks passed"
