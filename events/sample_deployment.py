"""Creates the sample deployment that events/env.json names, for `sam local invoke … --env-vars
events/env.json`: the table `kefu-sample` (the template's schema: pk/sk strings, TTL on
expires_at), the queue `kefu-sample-jobs`, the rules `rules/sample.json` under
`/kefu-sample/rules`, and the documented sample secrets (README.md: not secrets, never a real
mini program's) as two SecureStrings, `/kefu-sample/secrets/push` (receive's) and
`/kefu-sample/secrets/api` (reply's). What exists already is kept.

    python3 events/sample_deployment.py                        # in the account of your AWS credentials
    python3 events/sample_deployment.py http://127.0.0.1:5000  # in a moto server

Needs boto3. tests/sam/check_built.py uses it to run the READMEs' `sam local invoke` commands.
"""

import json
import pathlib
import sys

import boto3

ROOT = pathlib.Path(__file__).resolve().parents[1]
SAMPLE_PUSH_SECRETS = {
    "token": "kefu-sample-token",
    "encoding_aes_key": "kefuSampleEncodingAesKey0123456789abcdefABC",
}
SAMPLE_API_SECRETS = {"app_secret": "kefu-sample-app-secret"}


def create(endpoint: str | None, region: str = "us-east-1") -> dict:
    """Creates what events/env.json names (where it is missing); returns env.json's settings."""
    settings = json.loads((ROOT / "events" / "env.json").read_text(encoding="utf-8"))
    names = dict(settings["Parameters"], **settings["ReceiveFunction"], **settings["ReplyFunction"])
    session = boto3.session.Session(region_name=region)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    ssm = session.client("ssm", endpoint_url=endpoint)

    table = names["KEFU_TABLE"]
    try:
        dynamodb.create_table(
            TableName=table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}])
        dynamodb.get_waiter("table_exists").wait(TableName=table)
        dynamodb.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True})
    except dynamodb.exceptions.ResourceInUseException:
        pass
    queue_url = sqs.create_queue(QueueName=names["KEFU_QUEUE_URL"].rsplit("/", 1)[-1])["QueueUrl"]
    if endpoint is None and queue_url != names["KEFU_QUEUE_URL"]:
        print(f"your account's queue: set KEFU_QUEUE_URL in events/env.json to {queue_url}")

    rules = json.loads((ROOT / "rules" / "sample.json").read_text(encoding="utf-8"))
    parameters = [
        (f"{names['KEFU_RULES_PATH']}/000", "String",
         json.dumps(rules, ensure_ascii=False, separators=(",", ":"))),
        (names["KEFU_PUSH_SECRETS_PARAMETER"], "SecureString", json.dumps(SAMPLE_PUSH_SECRETS)),
        (names["KEFU_API_SECRETS_PARAMETER"], "SecureString", json.dumps(SAMPLE_API_SECRETS)),
    ]
    for name, kind, value in parameters:
        try:
            ssm.put_parameter(Name=name, Type=kind, Value=value)
        except ssm.exceptions.ParameterAlreadyExists:
            pass
    return settings


def main() -> None:
    if len(sys.argv) > 2:
        sys.exit("usage: sample_deployment.py [ENDPOINT_URL]")
    create(sys.argv[1] if len(sys.argv) == 2 else None)
    print("created the sample deployment events/env.json names")


if __name__ == "__main__":
    main()
