"""Cold start, side by side: receive, reply and a hello-world lambda_http function, each started
as Lambda starts it (tests/sam/lambda_runtime.py), against moto and the WeChat sandbox on
loopback. Not a test: it prints figures for docs/benchmarks.md. Run through
tests/bench/cold-start.sh, which builds the binaries and starts moto and the sandbox.

Per round and function, in a fresh process (a cold start) on its own fresh moto resources:
  init   exec → the first GET /next: wall time and CPU time of all threads;
  first  the first invocation: wall and CPU time, and the connections it opened to DynamoDB,
         SQS and SSM (moto behind one connection_counter.py per service, each on its own port
         as each service has its own host in AWS, keeping connections open as AWS does);
  warm   the median of the next 5 invocations (other pushes; other users' jobs);
  RSS    the peak resident set after them.
Prints the median of each figure over the rounds, and the sizes of the binaries.

Usage: cold_start.py --bin-dir DIR --moto URL --sandbox URL [--rounds 5] [--bin NAME=PATH ...]
  --bin adds a binary to the same rounds (options compared side by side): NAME starts with
  receive, reply or hello, which says how it is invoked (e.g. receive-ring=/tmp/ring/receive).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import pathlib
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "sam"))
from lambda_runtime import RuntimeApi  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from connection_counter import ConnectionCounter  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIRST_PUSH = "text-safe-json.json"
WARM_PUSHES = ["text-safe-xml.json", "text-compatible-xml.json", "text-plaintext-json.json",
               "image-safe-json.json", "enter-session-safe-json.json"]


def fresh_job(sandbox: str) -> bytes:
    """A text job stamped now for a new user whose window the sandbox has open."""
    event = json.loads((ROOT / "events" / "sqs-reply-text.json").read_text(encoding="utf-8"))
    record = event["Records"][0]
    job = json.loads(record["body"])
    now = int(time.time() * 1000)
    msg_id = f"{now}{secrets.randbelow(10**6):06d}"
    openid = f"oKefu-Bench-{secrets.token_hex(6)}"
    job.update(openid=openid, received_at=now, key=f"push#{job['appid']}#{msg_id}")
    job["message"].update(from_user_name=openid, create_time=now // 1000, msg_id=msg_id)
    record.update(body=json.dumps(job, ensure_ascii=False), messageId=f"bench-{msg_id}")
    request = urllib.request.Request(f"{sandbox}/sandbox/users/{openid}/message", data=b"",
                                     method="POST")
    urllib.request.urlopen(request, timeout=5).read()
    return json.dumps(event, ensure_ascii=False).encode()


def zipped_mb(path: pathlib.Path) -> float:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bootstrap", path.read_bytes())
    return len(packed.getvalue()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True, help="holds receive, reply, hello_world")
    parser.add_argument("--moto", required=True)
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bin", action="append", default=[], metavar="NAME=PATH",
                        help="another binary in the same rounds; NAME starts with its kind")
    args = parser.parse_args()
    bins = pathlib.Path(args.bin_dir)
    sandbox_port = int(args.sandbox.rsplit(":", 1)[1])
    work = pathlib.Path(tempfile.mkdtemp(prefix="kefu-cold-start-"))

    functions = {
        "hello_world": (bins / "hello_world",
                        lambda env: (ROOT / "events" / FIRST_PUSH).read_bytes(),
                        lambda env, i: (ROOT / "events" / WARM_PUSHES[i]).read_bytes()),
        "receive": (bins / "receive",
                    lambda env: (ROOT / "events" / FIRST_PUSH).read_bytes(),
                    lambda env, i: (ROOT / "events" / WARM_PUSHES[i]).read_bytes()),
        "reply": (bins / "reply",
                  lambda env: fresh_job(args.sandbox),
                  lambda env, i: fresh_job(args.sandbox)),
    }
    for spec in args.bin:
        name, _, path = spec.partition("=")
        kind = "hello_world" if name.startswith("hello") else name.split("-")[0]
        if kind not in functions or not path:
            sys.exit(f"--bin {spec}: expected NAME=PATH, NAME starting receive, reply or hello")
        functions[name] = (pathlib.Path(path), *functions[kind][1:])
    results: dict[str, list[dict]] = {name: [] for name in functions}
    services = ["DYNAMODB", "SQS", "SSM"]
    with RuntimeApi() as api, contextlib.ExitStack() as stack:
        counters = {name: stack.enter_context(ConnectionCounter(args.moto)) for name in services}

        def opened() -> tuple[int, ...]:
            return tuple(counters[name].opened for name in services)

        def new(after: tuple, before: tuple) -> str:
            return "+".join(str(a - b) for a, b in zip(after, before))

        for round_ in range(args.rounds):
            for name, (binary, first_event, warm_event) in functions.items():
                # Fresh resources for each function, not each round: the pushes are the same
                # files, so a receive run after another on the same table would find them all
                # claimed and only answer duplicates (no SQS send), which is cheaper.
                setup = subprocess.run(
                    [sys.executable, str(ROOT / "tests/lambda/setup_moto.py"), args.moto],
                    check=True, capture_output=True, text=True).stdout
                env = dict(line.split("=", 1) for line in setup.splitlines() if "=" in line)
                env.update(WECHAT_API_BASE=args.sandbox, RUST_LOG="info")
                env.update({f"AWS_ENDPOINT_URL_{service}": counters[service].url
                            for service in services})
                log = work / f"{name}-{round_}.log"
                at_start = opened()
                with api.start([str(binary)], env, str(work), str(log), name=name) as function:
                    function.wait_ready()
                    at_ready = opened()
                    status, body = function.invoke(first_event(env))
                    first = function.last
                    after_first = opened()
                    if status != "response":
                        sys.exit(f"{name}: first invocation failed: {body!r} (log {log})")
                    warm = []
                    for i in range(len(WARM_PUSHES)):
                        function.invoke(warm_event(env, i))
                        warm.append(function.last)
                    results[name].append({
                        "init_wall": function.ready_wall_ms,
                        "init_cpu": function.ready_cpu_ms,
                        "first_wall": first.wall_ms,
                        "first_cpu": first.cpu_ms,
                        "init_conns": new(at_ready, at_start),
                        "first_conns": new(after_first, at_ready),
                        "warm_conns": new(opened(), after_first),
                        "warm_wall": statistics.median(w.wall_ms for w in warm),
                        "warm_cpu": statistics.median(w.cpu_ms for w in warm),
                        "rss_mb": (function.peak_rss_kb() or 0) / 1024,
                    })

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    def most(name: str, key: str) -> str:
        return statistics.mode(r[key] for r in results[name])

    print(f"\nmedian of {args.rounds} rounds (ms; CPU = all threads); connections opened to "
          "DynamoDB+SQS+SSM (most frequent) during init, the 1st invocation, the 5 warm ones\n")
    print("| function | init wall | init CPU | 1st wall | 1st CPU | warm wall | warm CPU "
          "| conns init | conns 1st | conns warm | peak RSS |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in functions:
        print(f"| {name} | {med(name, 'init_wall'):.1f} | {med(name, 'init_cpu'):.1f} "
              f"| {med(name, 'first_wall'):.1f} | {med(name, 'first_cpu'):.1f} "
              f"| {med(name, 'warm_wall'):.1f} | {med(name, 'warm_cpu'):.2f} "
              f"| {most(name, 'init_conns')} | {most(name, 'first_conns')} "
              f"| {most(name, 'warm_conns')} "
              f"| {med(name, 'rss_mb'):.1f} MB |")
    print("\n| binary | size | zipped |")
    print("| --- | --- | --- |")
    for name, (binary, _, _) in functions.items():
        print(f"| {name} | {binary.stat().st_size / 1e6:.2f} MB | {zipped_mb(binary):.2f} MB |")
    print(f"\n(function logs: {work}; sandbox port {sandbox_port})")


if __name__ == "__main__":
    main()
