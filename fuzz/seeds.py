#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from events/*.json (API Gateway events) and the
public vectors (tests/fixtures/public-vectors.json), in the input layouts fuzz/src/lib.rs reads.

    python3 fuzz/seeds.py OUT_DIR      # writes OUT_DIR/<target>/<seed name>

`fuzz/run.sh` seeds fuzz/corpus/ with it; tests/fuzz-regressions/ holds the same seeds, so the
stable replay test never runs on an empty folder. Standard library only.
"""

import json
import pathlib
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# The decrypt target's flags byte: bits 0-1 the key (0 sample, 1 documented example, 2 wechatpy),
# bits 2-3 the layout (0 Encrypt text, 1 ciphertext bytes, 2 padded frame, 3 unpadded frame).
KEY_INDEX = {
    "kefuSampleEncodingAesKey0123456789abcdefABC": 0,
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA": 1,
    "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR": 2,
}
SAMPLE_APPID = "wx5ea1c0de5ea1c0de"


def events():
    """(name, method, raw query string, body) of every API Gateway event in events/."""
    for path in sorted((ROOT / "events").glob("*.json")):
        event = json.loads(path.read_text(encoding="utf-8"))
        method = event.get("requestContext", {}).get("http", {}).get("method")
        if method is None:  # the SQS events for the reply function
            continue
        yield path.stem, method, event.get("rawQueryString", ""), event.get("body") or ""


def vectors():
    return json.loads((ROOT / "tests/fixtures/public-vectors.json").read_text(encoding="utf-8"))


def encrypt_field(body):
    """The Encrypt field of an XML or JSON body (the seeds need no real parser)."""
    body = body.strip()
    if body.startswith("{"):
        return json.loads(body).get("Encrypt")
    start = body.find("<Encrypt>")
    if start < 0:
        return None
    inner = body[start + len("<Encrypt>") : body.find("</Encrypt>")]
    return inner.removeprefix("<![CDATA[").removesuffix("]]>")


def frame(message, appid, random16=b"kefusamplerandom"):
    """random16 ‖ msg_len ‖ msg ‖ appid, as the decrypted Encrypt holds it (without padding)."""
    return random16 + struct.pack(">I", len(message)) + message + appid.encode()


def seeds():
    """{target: {name: bytes}}"""
    out = {t: {} for t in ("body_xml", "body_json", "decrypt", "inner_message", "rules", "receive")}
    plaintexts = {}  # name -> plaintext message (the inner parser's input)

    for name, method, query, body in events():
        flags = 1 if method == "GET" else 0
        out["receive"][f"event-{name}"] = bytes([flags]) + query.encode() + b"\n" + body.encode()
        # The same body re-signed by the harness: reaches the parser even when edited.
        out["receive"][f"event-{name}-resigned"] = bytes([flags | 0b100]) + query.encode() + b"\n" + body.encode()
        stripped = body.lstrip()
        if stripped.startswith("<"):
            out["body_xml"][f"event-{name}"] = body.encode()
        elif stripped.startswith("{"):
            out["body_json"][f"event-{name}"] = body.encode()
        encrypt = encrypt_field(body) if body else None
        if encrypt:
            out["decrypt"][f"event-{name}"] = bytes([0]) + encrypt.encode()
        elif body:
            plaintexts[f"event-{name}"] = body

    for v in vectors():
        vid = v["id"]
        for field in ("plaintext", "decrypted_plaintext_observed"):
            text = v.get(field)
            # Messages only (the passive reply's plaintext is not one).
            if isinstance(text, str) and text.lstrip()[:1] in ("<", "{") and "MsgType" in text:
                plaintexts[f"vector-{vid}"] = text
        key = KEY_INDEX.get(v.get("encoding_aes_key") or "")
        if key is not None and v.get("encrypted"):
            out["decrypt"][f"vector-{vid}"] = bytes([key]) + v["encrypted"].encode()
            text = v.get("plaintext") or v.get("decrypted_plaintext_observed")
            if isinstance(text, str):
                out["decrypt"][f"vector-{vid}-frame"] = bytes([key | 0b1100]) + frame(text.encode(), v["appid"])

    for name, text in plaintexts.items():
        data = text.encode()
        if text.lstrip().startswith("<"):
            out["body_xml"][name] = data
            out["inner_message"][name] = bytes([0b01]) + data
            out["inner_message"][f"{name}-compatible"] = bytes([0b11]) + data
        else:
            out["body_json"][name] = data
            out["inner_message"][name] = bytes([0b00]) + data
            out["inner_message"][f"{name}-compatible"] = bytes([0b10]) + data
        out["decrypt"][f"{name}-frame"] = bytes([0b1100]) + frame(data, SAMPLE_APPID)

    # The sample rule set, and each of its rules alone beside its default.
    sample = json.loads((ROOT / "rules/sample.json").read_text(encoding="utf-8"))
    out["rules"]["sample"] = (ROOT / "rules/sample.json").read_bytes()
    for n, rule in enumerate(sample.get("rules", [])):
        one = {"rules": [rule], "default": sample.get("default")}
        out["rules"][f"sample-rule-{n}"] = json.dumps(one, ensure_ascii=False).encode()
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out_dir = pathlib.Path(sys.argv[1])
    for target, files in seeds().items():
        folder = out_dir / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        print(f"{target}: {len(files)} seeds")


if __name__ == "__main__":
    main()
