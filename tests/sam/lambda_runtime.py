"""A local Lambda Runtime API (loopback only) that runs one function binary the way Lambda does.

The function is started as a process with `AWS_LAMBDA_RUNTIME_API` pointing here; it polls
`GET /2018-06-01/runtime/invocation/next`, gets one event with the request id, deadline and
function ARN headers, and posts `…/invocation/{id}/response` (or `/error`). One process serves
every invocation, as one Lambda execution environment does: the first is the cold one.

What it records, per function process, for the checks (check_built.py) and the cold-start
figures (tests/bench/cold_start.py):
  - `ready`: exec → the first `/next` (Lambda's init phase), wall time and the CPU time of all
    the process's threads (`/proc/PID/task/*/schedstat`, first field);
  - each invocation: wall time from handing out the event to its response, and CPU time between
    the `/next` that fetched it and the `/next` after it (the process is idle at both).

Usage as a library:
    with RuntimeApi() as api, api.start(["path/to/bootstrap"], env, cwd) as function:
        status, body = function.invoke(b'{"…": …}')
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

PREFIX = "/2018-06-01/runtime"


def process_cpu_ns(pid: int) -> int:
    """CPU time of every thread of `pid` so far (ns); 0 once it is gone."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as stat:
                total += int(stat.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended between listdir and open
    return total


def peak_rss_kb(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


@dataclass
class Invocation:
    request_id: str
    event: bytes
    done: threading.Event = field(default_factory=threading.Event)
    status: Optional[str] = None  # "response" or "error"
    body: bytes = b""
    delivered_at: float = 0.0
    answered_at: float = 0.0
    cpu_before_ns: int = 0
    cpu_after_ns: int = 0
    idle: threading.Event = field(default_factory=threading.Event)

    @property
    def wall_ms(self) -> float:
        return (self.answered_at - self.delivered_at) * 1000

    @property
    def cpu_ms(self) -> float:
        return (self.cpu_after_ns - self.cpu_before_ns) / 1e6


class Function:
    """One function process and what the Runtime API saw of it."""

    def __init__(self, api: "RuntimeApi", command, env, cwd, log_path):
        self.api = api
        self.pending: "queue.Queue[Invocation]" = queue.Queue()
        self.invocations: dict[str, Invocation] = {}
        self.current: Optional[Invocation] = None
        self.ready = threading.Event()
        self.ready_wall_ms = 0.0
        self.ready_cpu_ms = 0.0
        self.init_error: Optional[bytes] = None
        self.stopped = threading.Event()
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    # Called by the HTTP handler, on its own thread.
    def next_invocation(self, stop: threading.Event) -> Optional[Invocation]:
        now = time.monotonic()
        cpu = process_cpu_ns(self.process.pid)
        if not self.ready.is_set():
            self.ready_wall_ms = (now - self.started_at) * 1000
            self.ready_cpu_ms = cpu / 1e6
            self.ready.set()
        if self.current is not None:
            self.current.cpu_after_ns = cpu
            self.current.idle.set()
            self.current = None
        while not (stop.is_set() or self.stopped.is_set()):
            try:
                invocation = self.pending.get(timeout=0.2)
            except queue.Empty:
                continue
            invocation.cpu_before_ns = cpu
            invocation.delivered_at = time.monotonic()
            self.current = invocation
            return invocation
        return None

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.1):
            if self.process.poll() is not None:
                raise RuntimeError(f"the function exited ({self.process.returncode}) before asking "
                                   f"for an event; log: {self.log_path}")
            if self.init_error is not None:
                raise RuntimeError(f"init error: {self.init_error!r}; log: {self.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the function did not ask for an event within {timeout} s; "
                                   f"log: {self.log_path}")

    def invoke(self, event: bytes, timeout: float = 60) -> tuple[str, bytes]:
        """Hands `event` to the function; returns ("response" or "error", body) once it has
        answered and asked for the next event (so the invocation's CPU time is complete)."""
        self.wait_ready(timeout)
        invocation = Invocation(request_id=str(uuid.uuid4()), event=event)
        self.invocations[invocation.request_id] = invocation
        self.pending.put(invocation)
        deadline = time.monotonic() + timeout
        for signal in (invocation.done, invocation.idle):
            while not signal.wait(0.1):
                if self.process.poll() is not None:
                    raise RuntimeError(f"the function exited ({self.process.returncode}) during an "
                                       f"invocation; log: {self.log_path}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no answer within {timeout} s; log: {self.log_path}")
        self.last = invocation
        return invocation.status or "error", invocation.body

    def peak_rss_kb(self) -> Optional[int]:
        return peak_rss_kb(self.process.pid)

    def stop(self) -> None:
        self.stopped.set()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def __enter__(self) -> "Function":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        self.api.function = None


class RuntimeApi:
    """The Runtime API server on 127.0.0.1 (a free port), serving one function at a time."""

    def __init__(self) -> None:
        self.function: Optional[Function] = None
        self.stop_event = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body are two writes: no Nagle delay between them.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def reply(self, status: int, body: bytes = b"", headers: Optional[dict] = None) -> None:
                try:
                    self.send_response(status)
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the function was stopped while it waited

            def do_GET(self) -> None:
                function = api.function
                if self.path != f"{PREFIX}/invocation/next" or function is None:
                    return self.reply(404, b'{"errorType":"NotFound"}')
                invocation = function.next_invocation(api.stop_event)
                if invocation is None:
                    return self.reply(503, b'{"errorType":"ShuttingDown"}')
                deadline_ms = int(time.time() * 1000) + 30_000
                self.reply(200, invocation.event, {
                    "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn":
                        "arn:aws:lambda:us-east-1:000000000000:function:kefu-local",
                    "Lambda-Runtime-Trace-Id": f"Root=1-{invocation.request_id[:8]}-local",
                })

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                function = api.function
                if function is None:
                    return self.reply(404, b'{"errorType":"NotFound"}')
                if self.path == f"{PREFIX}/init/error":
                    function.init_error = body
                    return self.reply(202, b'{"status":"OK"}')
                parts = self.path[len(PREFIX):].strip("/").split("/")
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    invocation = function.invocations.get(parts[1])
                    if invocation is None:
                        return self.reply(400, b'{"errorType":"InvalidRequestID"}')
                    invocation.answered_at = time.monotonic()
                    invocation.status, invocation.body = parts[2], body
                    invocation.done.set()
                    return self.reply(202, b'{"status":"OK"}')
                self.reply(404, b'{"errorType":"NotFound"}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self, command, env: dict, cwd: str, log_path: str, name: str = "kefu") -> Function:
        """Starts `command` as the function (Lambda's environment, plus `env`)."""
        if self.function is not None:
            raise RuntimeError("one function at a time")
        full_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": self.address,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "LAMBDA_TASK_ROOT": cwd,
            "_HANDLER": "bootstrap",
            "TZ": ":UTC",
        }
        full_env.update(env)
        self.function = Function(self, command, full_env, cwd, log_path)
        return self.function

    def __enter__(self) -> "RuntimeApi":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        if self.function is not None:
            self.function.stop()
        self.server.shutdown()
        self.server.server_close()


def load_env_file(path: str) -> dict:
    env = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                env[key] = value
    return env


if __name__ == "__main__":
    # A manual run: python3 lambda_runtime.py ENV_FILE EVENT_FILE BOOTSTRAP [ARGS...]
    import sys

    if len(sys.argv) < 4:
        sys.exit("usage: lambda_runtime.py ENV_FILE EVENT_FILE COMMAND...")
    env_file, event_file, command = sys.argv[1], sys.argv[2], sys.argv[3:]
    with RuntimeApi() as api, api.start(command, load_env_file(env_file),
                                        os.path.dirname(os.path.abspath(command[-1])),
                                        "/dev/stderr") as function:
        with open(event_file, "rb") as event:
            status, body = function.invoke(event.read())
        print(json.dumps({"status": status, "body": json.loads(body or b"null")}, ensure_ascii=False))
