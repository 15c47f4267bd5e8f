"""Runs the bootstraps `sam build` produced (.aws-sam/build/<Function>/bootstrap) under the local
Lambda Runtime API (lambda_runtime.py), against moto and the WeChat sandbox, and checks:

  receive (one process, so the first push is a cold start and the rest are warm):
    - every API Gateway event in the first table of events/README.md gets that table's status
      and body (a transfer: an encrypted passive reply whose MsgSignature verifies with the
      sample Token);
    - a second app, served from an apps path (KEFU_APPS_PATH; the second app of
      tests/sam/apps.json, plaintext only): a push signed with its Token at /wechat/{appid} gets
      `success`, one at the URL of an app not served 404;
    - the queue then holds one job per events/README.md row with job = yes, plus the second
      app's;
  reply (one process):
    - events/sqs-reply-text.json as it is: no batch item failures (its user was just handed to a
      human agent by the transfer events, so nothing is sent);
    - a fresh job (stamped now, for a new user whose 48 h window the sandbox has open) whose
      text a rule answers with the image {"file": "welcome.png"}: no failures, and the sandbox
      received an image message for that user with the media_id its media/upload handed out.
      The function runs in a folder holding only its bootstrap, with no KEFU_ASSETS_DIR: the
      image can only have come from inside the binary;
    - a fresh job whose rule names an image that is not shipped: refused for good (no batch
      item failure: a retry cannot make the file appear, so it never goes to the DLQ) and the
      function's log names the file as not shipped;
    - a fresh job whose rule is a Lambda hook: reply invokes the function (through the recorder,
      so tests/iam evaluates lambda:InvokeFunction against HookFunctionArns; moto cannot run it)
      once, and sends the hook's fallback; reply reads the hook secret (HookSecretParameterName)
      at start;
    - a fresh job of the second app: sent through the second app's own access_token (the
      sandbox records it under that appid);
    - an outbox command (a record from the outbox queue's ARN, KEFU_OUTBOX_QUEUE_ARN) for a
      user who just wrote: no failures, and the sandbox received its text once; the same
      command again (another SQS message, the same idempotency_key): nothing more sent.

  `sam local invoke` as README.md and events/README.md write it (each `sam local invoke
  FUNCTION -e EVENT --env-vars ENV_FILE` there, and the `kefu event … > FILE` that makes a fresh
  EVENT): the function gets the environment SAM would give it (sam_env.py: SAM's own code, which
  drops a variable the template does not declare), in a moto holding the sample deployment that
  events/env.json names (events/sample_deployment.py); only AWS_ENDPOINT_URL is added, since SAM
  has no way to pass it. Each event gets events/README.md's answer (status and body, or no batch
  item failures); a fresh event gets `success`; and with events/env.json every event of
  events/README.md's table gets its row's answer.

The reply function publishes kefu's events (KEFU_EVENT_BUS) to a bus created on moto, whose rule
sends them to a queue: at least a message.received and a reply.sent must arrive there.

Every AWS call the functions make goes through a recording proxy (aws_recorder.py) to moto, each
function with its own access key (ACCESS_KEYS); WORK/aws-calls.jsonl holds the calls and
WORK/stack.json the names of what setup_moto.py created, for tests/iam/check.py to evaluate
each call against the template's IAM policies as AWS would.

Called by tests/sam/build-and-check.sh. Usage:
  check_built.py --build-dir DIR --moto URL --sandbox URL --work DIR [--qemu QEMU]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import re
import secrets
import shlex
import subprocess
import sys
import time
import urllib.request

import boto3

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from aws_recorder import Recorder  # noqa: E402
from lambda_runtime import RuntimeApi  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE_TOKEN = "kefu-sample-token"
# Rules the checks add in front of rules/sample.json.
IMAGE_RULES = [
    {"name": "photo", "match": {"exact": ["图片"]},
     "action": {"reply": [{"type": "image", "source": {"file": "welcome.png"}}]}},
    {"name": "missing-photo", "match": {"exact": ["缺图"]},
     "action": {"reply": [{"type": "image", "source": {"file": "not-shipped.png"}}]}},
]

# A rule whose action is a Lambda hook (docs/hooks.md): moto has no such function (invoking one
# needs Docker), so the call fails and the fallback goes out; the IAM check evaluates the Invoke
# against HookFunctionArns.
HOOK_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:kefu-check-hook"
HOOK_FALLBACK = "积分查询暂不可用"
HOOK_RULES = [
    {"name": "points", "match": {"exact": ["积分查询"]},
     "action": {"hook": {"lambda": HOOK_FUNCTION, "timeout_ms": 3000,
                         "fallback": [{"type": "text", "content": HOOK_FALLBACK}]}}},
]

# Each function's own dummy access key: the recorded calls say which function made them.
ACCESS_KEYS = {"ReceiveFunction": "AKIDRECEIVEFUNCTION", "ReplyFunction": "AKIDREPLYFUNCTION"}

failures: list[str] = []


def report(ok: bool, what: str, detail: str) -> None:
    print(f"{'ok  ' if ok else 'FAIL'}  {what:<48} {detail}", flush=True)
    if not ok:
        failures.append(what)


def readme_table() -> list[tuple[str, int, str, bool]]:
    """The first table of events/README.md: (event, status, body, job)."""
    text = (ROOT / "events" / "README.md").read_text(encoding="utf-8")
    section = text.split("## What each event gets", 1)[1]
    rows = []
    for line in section.split("\n\n", 2)[1].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[0].startswith("`"):
            continue
        event, _, status, body, job = cells
        rows.append((event.strip("`"), int(status), body.strip("`"), job == "yes"))
    if len(rows) < 10:
        sys.exit(f"found {len(rows)} rows in events/README.md's first table; expected its 11 events")
    return rows


def check_receive_answer(answer: dict, status: int, body: str) -> tuple[bool, str]:
    got_status, got_body = answer.get("statusCode"), answer.get("body") or ""
    if got_status != status:
        return False, f"statusCode {got_status}, expected {status} (body {got_body!r})"
    if not body.startswith("transfer_customer_service"):
        ok = got_body == body
        return ok, f"{got_status} {got_body!r}" + ("" if ok else f", expected {body!r}")
    if body.endswith("JSON"):
        try:
            fields = {k: str(v) for k, v in json.loads(got_body).items()}
        except (ValueError, AttributeError):
            return False, f"expected a JSON reply, got {got_body!r}"
    else:
        if not got_body.startswith("<xml>"):
            return False, f"expected an XML reply, got {got_body!r}"
        fields = {}
        for key in ["Encrypt", "MsgSignature", "TimeStamp", "Nonce"]:
            found = re.search(rf"<{key}>(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))</{key}>", got_body)
            if found:
                fields[key] = found.group(1) if found.group(1) is not None else found.group(2)
    if not all(k in fields for k in ["Encrypt", "TimeStamp", "Nonce"]):
        return False, f"not an encrypted reply: {got_body!r}"
    parts = sorted([SAMPLE_TOKEN, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"]])
    if hashlib.sha1("".join(parts).encode()).hexdigest() != fields.get("MsgSignature"):
        return False, f"MsgSignature does not verify: {got_body!r}"
    return True, f"{got_status} encrypted {body.rsplit(' ', 1)[-1]} reply, MsgSignature verified"


def fresh_job(text: str, appid: str | None = None) -> tuple[bytes, str, str]:
    """events/sqs-reply-text.json re-stamped now for a new user saying `text` (to the app
    `appid`, default the sample's): (event, messageId, openid)."""
    event = json.loads((ROOT / "events" / "sqs-reply-text.json").read_text(encoding="utf-8"))
    record = event["Records"][0]
    job = json.loads(record["body"])
    if appid:
        job["appid"] = appid
    now = int(time.time() * 1000)
    msg_id = f"{now}{secrets.randbelow(10**6):06d}"
    openid = f"oKefu-Sam-Check-{secrets.token_hex(6)}"
    job.update(openid=openid, received_at=now, key=f"push#{job['appid']}#{msg_id}")
    job["message"].update(from_user_name=openid, create_time=now // 1000, msg_id=msg_id,
                          kind={"type": "text", "content": text})
    record.update(body=json.dumps(job, ensure_ascii=False), messageId=f"kefu-sam-check-{msg_id}")
    return json.dumps(event, ensure_ascii=False).encode(), record["messageId"], openid


OUTBOX_ARN = "arn:aws:sqs:us-east-1:123456789012:kefu-outbox"


def outbox_event(appid: str, openid: str, key: str, text: str) -> bytes:
    """An SQS event of one outbox command, as the outbox queue's event source hands it."""
    now = int(time.time() * 1000)
    command = {"appid": appid, "openid": openid, "idempotency_key": key,
               "messages": [{"type": "text", "content": text}]}
    record = {"messageId": f"kefu-sam-outbox-{now}-{secrets.token_hex(4)}",
              "receiptHandle": "kefu-sam-outbox-receipt", "body": json.dumps(command, ensure_ascii=False),
              "attributes": {"SentTimestamp": str(now), "ApproximateReceiveCount": "1"},
              "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
              "eventSourceARN": OUTBOX_ARN, "awsRegion": "us-east-1"}
    return json.dumps({"Records": [record]}, ensure_ascii=False).encode()


def second_app() -> dict:
    """The app of tests/sam/apps.json that is not the sample deployment's."""
    apps = json.loads((ROOT / "tests/sam/apps.json").read_text(encoding="utf-8"))["apps"]
    return apps[1]


def app_push(app: dict, appid_in_path: str) -> bytes:
    """A plaintext JSON text push signed with `app`'s Token, as API Gateway hands
    POST /wechat/{appid} to receive (the route's appid path parameter)."""
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
    signature = hashlib.sha1("".join(sorted([app["token"], timestamp, nonce])).encode()).hexdigest()
    openid = f"oKefu-Sam-Second-{secrets.token_hex(4)}"
    body = json.dumps({"ToUserName": "gh_0b0e5ec0dab0", "FromUserName": openid,
                       "CreateTime": int(timestamp), "MsgType": "text", "Content": "你好",
                       "MsgId": int(timestamp) * 1000 + secrets.randbelow(1000)},
                      ensure_ascii=False)
    query = {"signature": signature, "timestamp": timestamp, "nonce": nonce, "openid": openid}
    path = f"/wechat/{appid_in_path}"
    return json.dumps({
        "version": "2.0", "routeKey": "POST /wechat/{appid}", "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "headers": {"content-type": "application/json"}, "queryStringParameters": query,
        "pathParameters": {"appid": appid_in_path},
        "requestContext": {"accountId": "123456789012", "apiId": "kefu", "domainName": "kefu",
                           "domainPrefix": "kefu", "requestId": f"kefu-{nonce}",
                           "routeKey": "POST /wechat/{appid}", "stage": "$default", "time": "",
                           "timeEpoch": int(timestamp) * 1000,
                           "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "203.0.113.10", "userAgent": "Mozilla/4.0"}},
        "body": body, "isBase64Encoded": False,
    }, ensure_ascii=False).encode()


def http(method: str, url: str) -> bytes:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def batch_failures(status: str, body: bytes):
    if status != "response":
        return f"invocation error {body!r}"
    answer = json.loads(body)
    return answer.get("batchItemFailures", answer)


SAM_INVOKE = re.compile(r"sam local invoke (\w+) -e ([\w./-]+) --env-vars ([\w./-]+)")
KEFU_EVENT = re.compile(r"^kefu event (.+?) > (\S+)", re.MULTILINE)


def sam_local_invokes() -> list[tuple[str, str, str, str, list[str] | None]]:
    """Each `sam local invoke` of README.md and events/README.md: (document, function, event,
    env file, the `kefu event` arguments that make the event, if the document makes it)."""
    found = []
    for document in ["README.md", "events/README.md"]:
        text = (ROOT / document).read_text(encoding="utf-8")
        made = {m.group(2): shlex.split(m.group(1)) for m in KEFU_EVENT.finditer(text)}
        commands = [(document, m.group(1), m.group(2).strip("`"), m.group(3), made.get(m.group(2)))
                    for m in SAM_INVOKE.finditer(text)]
        if not commands:
            sys.exit(f"{document} has no `sam local invoke … -e … --env-vars …` command to check")
        found += commands
    return found


def sam_env(function: str, env_file: str) -> dict:
    """What `sam local invoke FUNCTION --env-vars ENV_FILE` hands the function (sam_env.py)."""
    python = os.environ.get("SAM_PYTHON", str(ROOT / ".venv/sam/bin/python"))
    out = subprocess.run([python, str(ROOT / "tests/sam/sam_env.py"), str(ROOT / "template.yaml"),
                          str(ROOT / env_file), function],
                         check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out)


def check_sam_local_invokes(build: pathlib.Path, moto: str, work: pathlib.Path,
                            qemu: str | None, kefu: str) -> None:
    sys.path.insert(0, str(ROOT / "events"))
    import sample_deployment  # noqa: E402

    sample_deployment.create(moto)
    table = {event: (status, body) for event, status, body, _ in readme_table()}
    invokes = sam_local_invokes()
    for function, env_file in dict.fromkeys((i[1], i[3]) for i in invokes):
        env = dict(sam_env(function, env_file), AWS_ENDPOINT_URL=moto)
        folder = build / function
        command = ([qemu, "-L", "/"] if qemu else []) + [str(folder / "bootstrap")]
        with RuntimeApi() as api, api.start(command, env, str(folder),
                                            str(work / f"sam-local-{function}.log"),
                                            name=function) as running:
            for document, _, event, _, made_by in [i for i in invokes if (i[1], i[3]) == (function, env_file)]:
                what = f"{document}: sam local invoke {function} -e {event}"
                if made_by is not None:
                    path = work / pathlib.Path(event).name
                    made = subprocess.run([kefu, "event", *made_by], check=True,
                                          capture_output=True, cwd=ROOT,
                                          env={k: v for k, v in os.environ.items()
                                               if k not in ("KEFU_TOKEN", "KEFU_AES_KEY", "KEFU_APPID")})
                    path.write_bytes(made.stdout)
                    expected = (200, "success")
                else:
                    path = ROOT / event
                    expected = table.get(pathlib.Path(event).name)
                outcome, answer = running.invoke(path.read_bytes())
                if outcome != "response":
                    report(False, what, f"invocation error {answer!r}")
                elif function == "ReplyFunction":
                    failed = batch_failures(outcome, answer)
                    report(failed == [], what, f"batchItemFailures {failed}")
                elif expected is None:
                    report(False, what, "not in events/README.md's table: nothing to compare with")
                else:
                    ok, detail = check_receive_answer(json.loads(answer), *expected)
                    report(ok, what, detail)
            if function == "ReceiveFunction" and env_file == "events/env.json":
                # events/README.md: every event of its table gets its row's answer with env.json.
                for event, (status, body) in table.items():
                    outcome, answer = running.invoke((ROOT / "events" / event).read_bytes())
                    ok, detail = (check_receive_answer(json.loads(answer), status, body)
                                  if outcome == "response" else (False, f"invocation error {answer!r}"))
                    report(ok, f"--env-vars events/env.json: {event}", detail)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--moto", required=True)
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--qemu", help="run the bootstraps under this user-mode emulator")
    parser.add_argument("--kefu", default=str(pathlib.Path(os.environ.get(
        "CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "kefu"),
        help="the kefu binary, for the READMEs' `kefu event` (default: the debug build)")
    args = parser.parse_args()
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    build = pathlib.Path(args.build_dir).resolve()

    # The stack's resources, as tests/lambda/check.sh creates them, then the image rules.
    setup = subprocess.run([sys.executable, str(ROOT / "tests/lambda/setup_moto.py"), args.moto],
                           check=True, capture_output=True, text=True).stdout
    env = dict(line.split("=", 1) for line in setup.splitlines() if "=" in line)
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                    region_name=env["AWS_REGION"])
    rules = json.loads((ROOT / "rules" / "sample.json").read_text(encoding="utf-8"))
    rules["rules"] = IMAGE_RULES + HOOK_RULES + rules["rules"]
    session.client("ssm", endpoint_url=args.moto).put_parameter(
        Name=f"{env['KEFU_RULES_PATH']}/000", Type="String", Overwrite=True,
        Value=json.dumps(rules, ensure_ascii=False, separators=(",", ":")))
    # The second app, as `kefu apps add` writes it (plaintext only: no encoding_aes_key).
    second = second_app()
    apps_path = f"{env['KEFU_RULES_PATH'].rsplit('/', 1)[0]}/apps"
    ssm = session.client("ssm", endpoint_url=args.moto)
    for leaf, value in [("push", {"token": second["token"]}),
                        ("api", {"app_secret": second["app_secret"]})]:
        ssm.put_parameter(Name=f"{apps_path}/{second['appid']}/{leaf}", Type="SecureString",
                          Overwrite=True, Value=json.dumps(value))
    env.update(WECHAT_API_BASE=args.sandbox, RUST_LOG="info", KEFU_APPS_PATH=apps_path,
               KEFU_OUTBOX_QUEUE_ARN=OUTBOX_ARN)
    # kefu's events (EventBusName): a bus on moto whose rule sends every event to a queue, as
    # README.md's example does; reply publishes there, so the IAM check evaluates its PutEvents.
    events_client = session.client("events", endpoint_url=args.moto)
    sqs_client = session.client("sqs", endpoint_url=args.moto)
    event_bus = f"kefu-check-events-{secrets.token_hex(4)}"
    events_client.create_event_bus(Name=event_bus)
    events_queue = sqs_client.create_queue(QueueName=f"{event_bus}-told")["QueueUrl"]
    events_client.put_rule(Name=f"{event_bus}-all", EventBusName=event_bus,
                           EventPattern=json.dumps({"source": [{"prefix": "kefu."}]}))
    events_client.put_targets(Rule=f"{event_bus}-all", EventBusName=event_bus, Targets=[{
        "Id": "queue", "Arn": sqs_client.get_queue_attributes(
            QueueUrl=events_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]}])
    # The key HTTPS hooks are signed with (HookSecretParameterName): reply reads it at start.
    hook_secret = f"{env['KEFU_RULES_PATH'].rsplit('/', 1)[0]}/hook-secret"
    ssm.put_parameter(Name=hook_secret, Type="SecureString", Overwrite=True,
                      Value=secrets.token_hex(16))
    (work / "stack.json").write_text(json.dumps({
        "region": env["AWS_REGION"], "appid": env["KEFU_APPID"], "table": env["KEFU_TABLE"],
        "queue_url": env["KEFU_QUEUE_URL"], "rules_path": env["KEFU_RULES_PATH"],
        "apps_path": apps_path, "push_secrets": env["KEFU_PUSH_SECRETS_PARAMETER"],
        "api_secrets": env["KEFU_API_SECRETS_PARAMETER"], "access_keys": ACCESS_KEYS,
        "event_bus": event_bus, "hook_functions": [HOOK_FUNCTION], "hook_secret": hook_secret,
    }, indent=2) + "\n", encoding="utf-8")
    recorder = Recorder(args.moto, str(work / "aws-calls.jsonl"))

    def start(api: RuntimeApi, function: str):
        folder = build / function
        shipped = sorted(p.name for p in folder.iterdir())
        report(shipped == ["bootstrap"], f"{function}: deployment package", f"holds {shipped}")
        command = ([args.qemu, "-L", "/"] if args.qemu else []) + [str(folder / "bootstrap")]
        own = dict(env, AWS_ENDPOINT_URL=recorder.url, AWS_ACCESS_KEY_ID=ACCESS_KEYS[function])
        if function == "ReplyFunction":
            # Reply publishes; receive, left without it here, answers as events/README.md says.
            own["KEFU_EVENT_BUS"] = event_bus
            own["KEFU_HOOK_SECRET_PARAMETER"] = hook_secret
        return api.start(command, own, str(folder), str(work / f"{function}.log"), name=function)

    with recorder, RuntimeApi() as api:
        with start(api, "ReceiveFunction") as receive:
            jobs_expected = 0
            for event, status, body, job in readme_table():
                outcome, answer = receive.invoke((ROOT / "events" / event).read_bytes())
                if outcome != "response":
                    report(False, f"receive {event}", f"invocation error {answer!r}")
                    continue
                ok, detail = check_receive_answer(json.loads(answer), status, body)
                report(ok, f"receive {event}", detail)
                jobs_expected += job
            outcome, answer = receive.invoke(app_push(second, second["appid"]))
            answer = json.loads(answer) if outcome == "response" else {}
            report(answer.get("statusCode") == 200 and answer.get("body") == "success",
                   "receive: a push to the second app's URL",
                   f"{answer.get('statusCode')} {answer.get('body')!r}")
            jobs_expected += 1
            outcome, answer = receive.invoke(app_push(second, "wx0000000000000000"))
            answer = json.loads(answer) if outcome == "response" else {}
            report(answer.get("statusCode") == 404, "receive: a push to an app not served",
                   f"{answer.get('statusCode')} {answer.get('body')!r}")
        queued = session.client("sqs", endpoint_url=args.moto).get_queue_attributes(
            QueueUrl=env["KEFU_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        report(int(queued) == jobs_expected, "receive: jobs on the queue",
               f"{queued} (events/README.md: {jobs_expected - 1} rows with job = yes; the second"
               " app's push: 1)")

        with start(api, "ReplyFunction") as reply:
            failed = batch_failures(*reply.invoke((ROOT / "events/sqs-reply-text.json").read_bytes()))
            report(failed == [], "reply sqs-reply-text.json", f"batchItemFailures {failed}")

            event, message_id, openid = fresh_job("图片")
            http("POST", f"{args.sandbox}/sandbox/users/{openid}/message")
            failed = batch_failures(*reply.invoke(event))
            sent = [m for m in json.loads(http("GET", f"{args.sandbox}/sandbox/messages"))
                    if m.get("openid") == openid]
            media_id = next((m["body"].get("image", {}).get("media_id") for m in sent
                             if m.get("msgtype") == "image"), None)
            report(failed == [] and media_id is not None,
                   "reply fresh job: image from a shipped file",
                   f"batchItemFailures {failed}; sandbox got {[m.get('msgtype') for m in sent]}"
                   f" (media_id {media_id})")

            event, message_id, openid = fresh_job("缺图")
            http("POST", f"{args.sandbox}/sandbox/users/{openid}/message")
            failed = batch_failures(*reply.invoke(event))
            log = (work / "ReplyFunction.log").read_text(encoding="utf-8", errors="replace")
            named = "not-shipped.png: not shipped with this deployment" in log
            report(failed == [] and named,
                   "reply fresh job: image not shipped",
                   f"batchItemFailures {failed}; log names the file: {named}")

            event, message_id, openid = fresh_job("你好", appid=second["appid"])
            http("POST", f"{args.sandbox}/sandbox/users/{openid}/message?appid={second['appid']}")
            failed = batch_failures(*reply.invoke(event))
            sent = [m.get("appid") for m in json.loads(http("GET", f"{args.sandbox}/sandbox/messages"))
                    if m.get("openid") == openid]
            report(failed == [] and sent == [second["appid"]],
                   "reply fresh job of the second app",
                   f"batchItemFailures {failed}; sandbox got sends from {sent}")

            # A Lambda hook: invoked (recorded, for the IAM check), fails on moto, fallback sent.
            event, message_id, openid = fresh_job("积分查询")
            http("POST", f"{args.sandbox}/sandbox/users/{openid}/message")
            failed = batch_failures(*reply.invoke(event))
            texts = [m["body"].get("text", {}).get("content")
                     for m in json.loads(http("GET", f"{args.sandbox}/sandbox/messages"))
                     if m.get("openid") == openid]
            invokes = [c for c in map(json.loads, (work / "aws-calls.jsonl").read_text(
                encoding="utf-8").splitlines()) if c.get("service") == "lambda"]
            report(failed == [] and texts == [HOOK_FALLBACK] and
                   [c["body"].get("FunctionName") for c in invokes] == [HOOK_FUNCTION],
                   "reply fresh job: a Lambda hook (invoked once, its fallback sent)",
                   f"batchItemFailures {failed}; sandbox got {texts}; Lambda calls "
                   f"{[(c['operation'], c['body'], c.get('status')) for c in invokes]}")

            # The user writes (their window opens), then a business system's command, twice.
            event, message_id, openid = fresh_job("你好")
            http("POST", f"{args.sandbox}/sandbox/users/{openid}/message")
            failed = batch_failures(*reply.invoke(event))
            key = f"sam-check-{secrets.token_hex(4)}"
            failed += batch_failures(*reply.invoke(outbox_event(env["KEFU_APPID"], openid, key,
                                                                "您的退款已到账")))
            failed += batch_failures(*reply.invoke(outbox_event(env["KEFU_APPID"], openid, key,
                                                                "您的退款已到账")))
            texts = [m["body"].get("text", {}).get("content")
                     for m in json.loads(http("GET", f"{args.sandbox}/sandbox/messages"))
                     if m.get("openid") == openid]
            report(failed == [] and texts.count("您的退款已到账") == 1,
                   "reply outbox command, sent twice with one key",
                   f"batchItemFailures {failed}; sandbox got {texts}")

        told = []
        while True:
            messages = sqs_client.receive_message(QueueUrl=events_queue, MaxNumberOfMessages=10,
                                                  WaitTimeSeconds=1).get("Messages", [])
            if not messages:
                break
            for message in messages:
                told.append(json.loads(message["Body"]))
                sqs_client.delete_message(QueueUrl=events_queue,
                                          ReceiptHandle=message["ReceiptHandle"])
        kinds = sorted({event["detail-type"] for event in told})
        report({"message.received", "reply.sent"} <= set(kinds),
               "reply: events on the EventBusName bus", f"{len(told)} events, kinds {kinds}")

    check_sam_local_invokes(build, args.moto, work, args.qemu, args.kefu)

    if failures:
        for function in ["ReceiveFunction", "ReplyFunction"]:
            log = work / f"{function}.log"
            if log.exists():
                print(f"--- last lines of {log} ---", file=sys.stderr)
                print("\n".join(log.read_text(errors="replace").splitlines()[-20:]), file=sys.stderr)
        sys.exit(f"{len(failures)} check(s) of the built functions failed")
    print("all checks of the built functions passed")


if __name__ == "__main__":
    main()
