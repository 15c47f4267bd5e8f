"""A recording HTTP proxy in front of moto (loopback only): the functions under test get its
address as AWS_ENDPOINT_URL, it forwards every request to moto unchanged and appends one JSON
line per request to a file, for tests/iam/check.py to evaluate against the template's IAM
policies as AWS would:

  {"key": access key id (the Authorization header's Credential=), "service": the signing
   scope's service, "operation": X-Amz-Target's operation or the query's Action,
   "body": the JSON body (or the query/form fields), "status": moto's HTTP status}

moto grants every call; the access key tells which function made it (check_built.py gives each
function its own). Requests check_built.py makes itself go to moto directly, not through here.

Usage as a library:
    with Recorder(moto_url, path) as recorder:
        env["AWS_ENDPOINT_URL"] = recorder.url
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]*/[^/]*/([^/,\s]+)/aws4_request")
# Hop-by-hop headers, not forwarded either way.
HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer",
       "upgrade", "content-length"}


LAMBDA_INVOKE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations")


def describe(headers, body: bytes, path: str = "") -> dict:
    """What the request asks: access key, service, operation and its parameters."""
    found = CREDENTIAL.search(headers.get("Authorization", ""))
    key, service = found.groups() if found else ("", "")
    target = headers.get("X-Amz-Target", "")
    operation = target.rsplit(".", 1)[-1] if target else ""
    content_type = headers.get("Content-Type", "")
    params: object
    if "json" in content_type:
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {"unparsed": body.decode("utf-8", "replace")}
    else:
        fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        params = {k: v[0] if len(v) == 1 else v for k, v in fields.items()}
        operation = operation or str(params.get("Action", ""))
    invoke = LAMBDA_INVOKE.match(path) if service == "lambda" else None
    if invoke:
        # A REST call (a Lambda hook): the operation is in the path, its payload is not AWS's.
        operation = "Invoke"
        params = {"FunctionName": urllib.parse.unquote(invoke.group(1))}
    return {"key": key, "service": service, "operation": operation, "body": params}


class Recorder:
    def __init__(self, upstream: str, path: str):
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.path = path
        self.lock = threading.Lock()
        open(path, "w", encoding="utf-8").close()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def forward(self):
                body = self.body()
                call = describe(self.headers, body, self.path)
                upstream = http.client.HTTPConnection(*recorder.upstream, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    answer = response.read()
                    self.send_response(response.status, response.reason)
                    for name, value in response.getheaders():
                        if name.lower() not in HOP and name.lower() not in ("server", "date"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    call["status"] = response.status
                finally:
                    upstream.close()
                    recorder.record(call)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def record(self, call: dict) -> None:
        line = json.dumps(call, ensure_ascii=False, sort_keys=True)
        with self.lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(line + "\n")

    def __enter__(self) -> "Recorder":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
