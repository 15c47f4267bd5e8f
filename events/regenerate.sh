#!/usr/bin/env bash
# Regenerates the API Gateway events in this folder with `kefu event`.
# With no arguments they are signed with the documented sample credentials (see README.md here);
# pass real ones to get events your deployment accepts, e.g.
#   KEFU_TOKEN=… KEFU_AES_KEY=… KEFU_APPID=wx… bash events/regenerate.sh
# Fixed timestamps, nonces and randomness keep the files reproducible.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p kefu-cli
kefu=target/debug/kefu
fixed=(--timestamp 1714112445 --nonce 415670741 --random kefusamplerandom)

"$kefu" event "${fixed[@]}" verify > events/verify-url.json
"$kefu" event "${fixed[@]}" --mode plaintext --format json --msg-id 24500000000000001 text "你好" > events/text-plaintext-json.json
"$kefu" event "${fixed[@]}" --mode compatible --format xml --msg-id 24500000000000002 text "营业时间是几点？" > events/text-compatible-xml.json
"$kefu" event "${fixed[@]}" --mode safe --format xml --msg-id 24500000000000003 text "你好" > events/text-safe-xml.json
"$kefu" event "${fixed[@]}" --mode safe --format json --msg-id 24500000000000004 text "你好" > events/text-safe-json.json
"$kefu" event "${fixed[@]}" --mode safe --format json --msg-id 24500000000000005 image > events/image-safe-json.json
"$kefu" event "${fixed[@]}" --mode safe --format xml --msg-id 24500000000000006 miniprogrampage > events/miniprogrampage-safe-xml.json
"$kefu" event "${fixed[@]}" --mode safe --format json enter > events/enter-session-safe-json.json
"$kefu" event "${fixed[@]}" --mode safe --format json --msg-id 24500000000000007 text "人工" > events/transfer-safe-json.json
"$kefu" event "${fixed[@]}" --mode safe --format xml --msg-id 24500000000000008 text "人工" > events/transfer-safe-xml.json
# Signed with a Token the deployment does not have: WeChat's signature would not match.
"$kefu" event "${fixed[@]}" --token not-the-token --mode safe --format json --msg-id 24500000000000009 text "你好" > events/tampered-signature.json
# SQS events for the reply function: the job receive enqueues for a message.
"$kefu" event "${fixed[@]}" --sqs --format json --msg-id 24500000000000010 text "你好" > events/sqs-reply-text.json
"$kefu" event "${fixed[@]}" --sqs --format json enter > events/sqs-reply-welcome.json
echo "regenerated $(ls events/*.json | wc -l) events"
