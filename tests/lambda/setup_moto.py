"""Creates, in a moto server, what the two Lambda functions need to start, and prints their
environment as KEY=VALUE lines (for `cargo lambda watch --env-file`).

Used by tests/lambda/check.sh; runs with the .venv's Python, where moto[server] brought boto3.
Usage: setup_moto.py ENDPOINT_URL

What it creates, under names no other run or test uses (a random suffix):
  - a DynamoDB table with the schema of template.yaml (pk/sk strings, TTL on expires_at);
  - an SQS queue for the reply jobs;
  - the rules: one String parameter RULES_PATH/000 holding rules/sample.json, as template.yaml's
    RulesParameter does (so the functions read them through GetParametersByPath);
  - the secrets: two SecureStrings holding the documented sample deployment's Token and
    EncodingAESKey (receive's), and AppSecret (reply's) (README.md; not secrets).
The AWS credentials are moto's dummy ones; nothing here can reach a real AWS account.
"""

import json
import pathlib
import secrets
import sys

import boto3

REGION = "us-east-1"
SAMPLE_APPID = "wx5ea1c0de5ea1c0de"
# Two parameters, as deployed: receive reads the push secrets only, reply the AppSecret only.
SAMPLE_PUSH_SECRETS = {
    "token": "kefu-sample-token",
    "encoding_aes_key": "kefuSampleEncodingAesKey0123456789abcdefABC",
}
SAMPLE_API_SECRETS = {"app_secret": "kefu-sample-app-secret"}
ROOT = pathlib.Path(__file__).resolve().parents[2]


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: setup_moto.py ENDPOINT_URL")
    endpoint = sys.argv[1]
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    )
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    ssm = session.client("ssm", endpoint_url=endpoint)

    name = f"kefu-lambda-{secrets.token_hex(8)}"

    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    )
    dynamodb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True},
    )

    queue_url = sqs.create_queue(QueueName=f"{name}-jobs")["QueueUrl"]

    rules_path = f"/{name}/rules"
    rules = json.loads((ROOT / "rules" / "sample.json").read_text(encoding="utf-8"))
    ssm.put_parameter(
        Name=f"{rules_path}/000",
        Type="String",
        Value=json.dumps(rules, ensure_ascii=False, separators=(",", ":")),
    )
    push_secrets = f"/{name}/secrets/push"
    api_secrets = f"/{name}/secrets/api"
    for parameter, value in [(push_secrets, SAMPLE_PUSH_SECRETS), (api_secrets, SAMPLE_API_SECRETS)]:
        ssm.put_parameter(Name=parameter, Type="SecureString", Value=json.dumps(value))

    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "KEFU_APPID": SAMPLE_APPID,
        "KEFU_TABLE": name,
        "KEFU_QUEUE_URL": queue_url,
        "KEFU_RULES_PATH": rules_path,
        "KEFU_PUSH_SECRETS_PARAMETER": push_secrets,
        "KEFU_API_SECRETS_PARAMETER": api_secrets,
        # The events in events/ were signed once, in 2024, in every mode (plaintext included):
        # the functions under test accept plaintext and skip the timestamp window. Both checks
        # are tested in the suites (shared/tests/receive_path.rs).
        "KEFU_REQUIRE_ENCRYPTION": "false",
        "KEFU_TIMESTAMP_WINDOW_SECONDS": "0",
    }
    for key, value in env.items():
        print(f"{key}={value}")


if __name__ == "__main__":
    main()
