#!/usr/bin/env python3
"""An example kefu hook: answers 「我的订单 A1024 到哪了」 from orders.json.

kefu POSTs the request JSON (docs/hooks.md), signed the Standard Webhooks way:
  webhook-id, webhook-timestamp (seconds), webhook-signature: v1,base64(HMAC-SHA256(secret,
  "{id}.{timestamp}.{body}")). This service refuses (401) a request whose signature does not
  verify or whose timestamp is more than 5 minutes off, and answers {"reply": [...]}.

  python3 hook.py --secret "$HOOK_SECRET" [--port 8091] [--orders orders.json]

Standard library only. The secret may also come from the HOOK_SECRET environment variable.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300
MAX_BODY = 64 * 1024
ORDER_NUMBER = re.compile(r"[A-Z]\d{4,}")


def verify(secret, headers, body, now=None):
    """None if the request is kefu's, else why not."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    try:
        sent = int(timestamp)
    except ValueError:
        return "webhook-timestamp is not a number"
    now = int(time.time()) if now is None else now
    if abs(now - sent) > TOLERANCE_SECONDS:
        return "webhook-timestamp is more than 5 minutes off"
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
    # Several signatures may be sent (a secret being rotated): any one verifying is enough.
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return None
    return "signature does not verify"


def answer(orders, request):
    message = request.get("message", {})
    if message.get("type") != "text":
        return {"reply": []}
    content = message.get("content", "")
    number = ORDER_NUMBER.search(content.upper())
    if not number:
        return {"reply": [{"type": "text", "content": "请发送订单号（例如 A1024），我帮您查询物流。"}]}
    order = orders.get(number.group(0))
    if order is None:
        return {"reply": [{"type": "text", "content": f"没有找到订单 {number.group(0)}，请核对订单号。"}]}
    text = f"订单 {number.group(0)}：{order['status']}"
    if "carrier" in order:
        text += f"，{order['carrier']} {order['tracking']}"
    if "eta" in order:
        text += f"，预计{order['eta']}送达" if order["status"] == "已发货" else f"，{order['eta']}"
    if "signed_at" in order:
        text += f"，{order['signed_at']} 签收"
    return {"reply": [{"type": "text", "content": text}]}


def serve(port, secret, orders):
    answered = {}  # request id → answer: a redelivered request gets the same answer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                return self.send(413, {"error": "request too large"})
            body = self.rfile.read(length)
            problem = verify(secret, {k.lower(): v for k, v in self.headers.items()}, body)
            if problem:
                print(f"refused: {problem}", file=sys.stderr, flush=True)
                return self.send(401, {"error": problem})
            try:
                request = json.loads(body)
            except ValueError:
                return self.send(400, {"error": "not JSON"})
            key = request.get("id")
            if key not in answered:
                answered[key] = answer(orders, request)
            self.send(200, answered[key])

        def send(self, status, payload):
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json; charset=utf-8")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}/", flush=True)
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8091, help="0: any free port (printed)")
    parser.add_argument("--secret", default=os.environ.get("HOOK_SECRET"))
    parser.add_argument("--orders", default=os.path.join(os.path.dirname(__file__), "orders.json"))
    args = parser.parse_args()
    if not args.secret:
        parser.error("--secret (or HOOK_SECRET) is required: the key kefu signs with")
    with open(args.orders, encoding="utf-8") as f:
        orders = json.load(f)
    serve(args.port, args.secret.encode(), orders)


if __name__ == "__main__":
    main()
