"""Evaluates every AWS call the built functions made (tests/sam/check_built.py records them) against
the IAM policies template.yaml gives each function's role, as AWS evaluates them.

  1. template.yaml is translated as `sam deploy` has CloudFormation do it (aws-sam-translator,
     the SAM CLI's own), with the parameter values of the check (the names setup_moto.py created,
     WORK/stack.json); the intrinsics met on the way to the policies are resolved (Ref, Fn::Sub,
     Fn::GetAtt of the table and queue, Fn::If with the template's Conditions, ...).
  2. Each function role's policies: its inline policies (SAM's Policies), every AWS::IAM::Policy
     attached to it whose Condition holds, and the AWS managed policies SAM attaches (their
     documents are below).
  3. Each recorded call becomes the request AWS authorizes: the action (`dynamodb:UpdateItem`),
     the resource (the table's ARN, the queue's ARN, `arn:aws:ssm:…:parameter/NAME`; for
     GetParametersByPath the path) and the context keys the template's conditions use
     (`dynamodb:LeadingKeys`: the partition key of each item the call touches). Each is evaluated
     with @cloud-copilot/iam-simulate (tests/iam/simulate.mjs).

Fails (exit 1) on any call the function's own policies do not allow, naming the function,
action, resource and key, or when a required denial does not hold (receive reading an
AppSecret, even with a RulesPath above AppsPath). Warns about each action a statement grants
that no recorded call used.

--mutate: for each action the recorded calls use, removes it from that function's statements in
template.yaml and evaluates the same calls again: each removal must make a call fail.

Runs with the SAM CLI's Python (.venv/sam: aws-sam-translator). Usage:
  check.py --template template.yaml --work WORK [--mutate]     (WORK: aws-calls.jsonl, stack.json)
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import json
import os
import pathlib
import re
import subprocess
import sys
import time
import urllib.parse

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # samtranslator's pseudo parameters

import logging  # noqa: E402

from samcli.yamlhelper import yaml_parse  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402

# The translator's metrics (never published here) warn when collected.
logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)

HERE = pathlib.Path(__file__).resolve().parent
ACCOUNT = "123456789012"  # moto's default account: the queue URLs carry it
PARTITION = "aws"
STACK = "kefu-iam-check"
FUNCTIONS = ["ReceiveFunction", "ReplyFunction"]
NO_VALUE = object()

# The AWS managed policies SAM attaches to function roles (their documents as AWS publishes
# them). An ARN not listed here fails the check: add its document.
MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": [
        {"Effect": "Allow", "Resource": "*",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]}],
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": [
        {"Effect": "Allow", "Resource": "*",
         "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]}],
    "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole": [
        {"Effect": "Allow", "Resource": "*",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                    "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]}],
}
# SQS batch operations are authorized as their single-message action.
SQS_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
               "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


class Stack:
    """The check's stack: parameter values, resource names, and the intrinsics over them."""

    def __init__(self, template: dict, stack: dict, overrides: dict | None = None):
        self.stack = stack
        self.region = stack["region"]
        params = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
        params.update(AppId=stack["appid"], AppsPath=stack["apps_path"],
                      RulesPath=stack["rules_path"], PushSecretsParameterName=stack["push_secrets"],
                      ApiSecretsParameterName=stack["api_secrets"],
                      EventBusName=stack.get("event_bus", ""),
                      # A CommaDelimitedList: a list, as CloudFormation resolves its Ref.
                      HookFunctionArns=stack.get("hook_functions", []),
                      HookSecretParameterName=stack.get("hook_secret", ""))
        params.update(overrides or {})
        self.params = params
        queue_name = stack["queue_url"].rstrip("/").rsplit("/", 1)[-1]
        self.refs = {
            "AWS::Region": self.region, "AWS::AccountId": ACCOUNT, "AWS::Partition": PARTITION,
            "AWS::StackName": STACK, "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": NO_VALUE,
            "Table": stack["table"], "JobQueue": stack["queue_url"],
            **{f"{f}Role": f"{f}Role" for f in FUNCTIONS}, **params,
        }
        self.atts = {
            "Table.Arn": self.table_arn(stack["table"]),
            "JobQueue.Arn": f"arn:{PARTITION}:sqs:{self.region}:{ACCOUNT}:{queue_name}",
            "JobQueue.QueueName": queue_name,
            **{f"{f}Role.Arn": self.role_arn(f) for f in FUNCTIONS},
        }
        self.conditions_source: dict = {}
        self.conditions: dict = {}

    def table_arn(self, table: str) -> str:
        return f"arn:{PARTITION}:dynamodb:{self.region}:{ACCOUNT}:table/{table}"

    def role_arn(self, function: str) -> str:
        return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{function}Role"

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.conditions_source[name]))
        return self.conditions[name]

    def resolve(self, value):
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref":
                if arg not in self.refs:
                    raise ValueError(f"Ref {arg}: not known to tests/iam/check.py")
                return self.refs[arg]
            if fn == "Fn::GetAtt":
                name = ".".join(arg) if isinstance(arg, list) else arg
                if name not in self.atts:
                    raise ValueError(f"Fn::GetAtt {name}: not known to tests/iam/check.py")
                return self.atts[name]
            if fn == "Fn::Sub":
                text, names = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

                def var(found):
                    name = found.group(1)
                    if name.startswith("!"):
                        return "${" + name[1:] + "}"
                    if name in names:
                        return str(names[name])
                    if name in self.refs:
                        return str(self.refs[name])
                    if name in self.atts:
                        return str(self.atts[name])
                    raise ValueError(f"Fn::Sub ${{{name}}}: not known to tests/iam/check.py")
                return re.sub(r"\$\{([^}]+)\}", var, text)
            if fn == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if fn == "Condition":
                return self.condition(arg)
            if fn == "Fn::Equals":
                a, b = self.resolve(arg)
                return str(a) == str(b)
            if fn == "Fn::Not":
                return not self.resolve(arg[0])
            if fn == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if fn == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if fn == "Fn::Join":
                return arg[0].join(str(v) for v in self.resolve(arg[1]))
            if fn == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if fn == "Fn::Split":
                return str(self.resolve(arg[1])).split(arg[0])
            if fn.startswith("Fn::"):
                raise ValueError(f"{fn}: not known to tests/iam/check.py")
        out = {}
        for key, item in value.items():
            item = self.resolve(item)
            if item is not NO_VALUE:
                out[key] = item
        return out


def sam_translate(template: dict) -> dict:
    """template.yaml as CloudFormation sees it after the SAM transform (`sam deploy`)."""
    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # As `sam deploy` uploads it; the translator wants an S3 location.
            resource["Properties"]["CodeUri"] = "s3://kefu-iam-check/code.zip"

    class NoManagedPolicyNames:
        def load(self):
            return {}

    return transform(template, {}, NoManagedPolicyNames())


def role_policies(template: dict, stack_values: dict, overrides: dict | None = None) -> dict:
    """{function: [{"name", "policy", "own"}]}: each function role's effective policies, intrinsics
    resolved (`own`: written in template.yaml, not an AWS managed policy)."""
    cfn = sam_translate(template)
    stack = Stack(cfn, stack_values, overrides)
    stack.conditions_source = cfn.get("Conditions", {})
    resources = cfn["Resources"]
    out = {}
    for function in FUNCTIONS:
        role_ref = resources[function]["Properties"]["Role"]
        role = role_ref["Fn::GetAtt"][0] if isinstance(role_ref, dict) else None
        if role not in resources or resources[role]["Type"] != "AWS::IAM::Role":
            raise ValueError(f"{function}: its Role is not a role of this template ({role_ref})")
        properties = stack.resolve(resources[role]["Properties"])
        policies = [{"name": p["PolicyName"], "policy": p["PolicyDocument"], "own": True}
                    for p in properties.get("Policies", [])]
        for name, resource in resources.items():
            if resource["Type"] != "AWS::IAM::Policy":
                continue
            if "Condition" in resource and not stack.condition(resource["Condition"]):
                continue
            if role in [r.get("Ref") for r in resource["Properties"].get("Roles", [])
                        if isinstance(r, dict)]:
                props = stack.resolve(resource["Properties"])
                policies.append({"name": name, "policy": props["PolicyDocument"], "own": True})
        for arn in properties.get("ManagedPolicyArns", []):
            if arn not in MANAGED:
                raise ValueError(f"{function}: managed policy {arn} has no document in "
                                 "tests/iam/check.py's MANAGED")
            policies.append({"name": arn.rsplit("/", 1)[-1], "own": False,
                             "policy": {"Version": "2012-10-17", "Statement": MANAGED[arn]}})
        for policy in policies:
            policy["policy"].setdefault("Version", "2012-10-17")
        out[function] = policies
    return out


def hash_key(template: dict) -> str:
    schema = template["Resources"]["Table"]["Properties"]["KeySchema"]
    return next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")


def requests_of(call: dict, stack: dict, pk: str) -> list[dict]:
    """The authorization requests AWS makes for one recorded call: action, resource, context."""
    service, op, body = call["service"], call["operation"], call.get("body") or {}
    region = stack["region"]

    def leading(items) -> dict:
        keys = sorted({next(iter(item[pk].values())) for item in items if pk in item})
        return {"dynamodb:LeadingKeys": keys} if keys else {}

    def table(name: str) -> str:
        return f"arn:{PARTITION}:dynamodb:{region}:{ACCOUNT}:table/{name}"

    def parameter(name: str) -> str:
        return f"arn:{PARTITION}:ssm:{region}:{ACCOUNT}:parameter{'' if name.startswith('/') else '/'}{name}"

    if service == "dynamodb":
        if op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
            item = body.get("Key") or body.get("Item") or {}
            return [dict(action=f"dynamodb:{op}", resource=table(body["TableName"]),
                         context=leading([item]))]
        if op in ("BatchGetItem", "BatchWriteItem"):
            out = []
            for name, entry in body.get("RequestItems", {}).items():
                items = entry.get("Keys", []) if op == "BatchGetItem" else [
                    (w.get("PutRequest") or {}).get("Item") or (w.get("DeleteRequest") or {}).get("Key") or {}
                    for w in entry]
                out.append(dict(action=f"dynamodb:{op}", resource=table(name), context=leading(items)))
            return out
        if op in ("TransactWriteItems", "TransactGetItems"):
            kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
            out = []
            for entry in body.get("TransactItems", []):
                (kind, part), = entry.items()
                out.append(dict(action=f"dynamodb:{kinds[kind]}", resource=table(part["TableName"]),
                                context=leading([part.get("Key") or part.get("Item") or {}])))
            return out
        if op == "Query":
            # The partition key's equality in the key condition.
            values = body.get("ExpressionAttributeValues", {})
            found = re.search(r"([#\w]+)\s*=\s*(:\w+)", body.get("KeyConditionExpression", ""))
            context = {}
            if found and body.get("ExpressionAttributeNames", {}).get(
                    found.group(1), found.group(1)) == pk:
                context = {"dynamodb:LeadingKeys": [next(iter(values[found.group(2)].values()))]}
            return [dict(action="dynamodb:Query", resource=table(body["TableName"]), context=context)]
        if "TableName" in body:
            return [dict(action=f"dynamodb:{op}", resource=table(body["TableName"]), context={})]
    if service == "sqs":
        if "QueueUrl" in body:
            path = urllib.parse.urlsplit(body["QueueUrl"]).path.strip("/").split("/")
            account, name = path[-2], path[-1]
            return [dict(action=f"sqs:{SQS_ACTIONS.get(op, op)}",
                         resource=f"arn:{PARTITION}:sqs:{region}:{account}:{name}", context={})]
        if "QueueName" in body:
            return [dict(action=f"sqs:{op}",
                         resource=f"arn:{PARTITION}:sqs:{region}:{ACCOUNT}:{body['QueueName']}",
                         context={})]
    if service == "ssm":
        if op == "DescribeParameters":  # scoped to no resource by AWS
            return [dict(action="ssm:DescribeParameters", resource="*", context={})]
        if op == "GetParametersByPath":
            return [dict(action="ssm:GetParametersByPath", resource=parameter(body["Path"]), context={})]
        if op == "GetParameters":
            return [dict(action="ssm:GetParameters", resource=parameter(n), context={})
                    for n in body.get("Names", [])]
        if "Name" in body:
            return [dict(action=f"ssm:{op}", resource=parameter(body["Name"]), context={})]
    if service == "events" and op == "PutEvents":
        # Authorized once per bus its entries name (a name, or the bus's ARN; none: default).
        buses = sorted({entry.get("EventBusName") or "default" for entry in body.get("Entries", [])})
        return [dict(action="events:PutEvents", context={},
                     resource=bus if bus.startswith("arn:")
                     else f"arn:{PARTITION}:events:{region}:{ACCOUNT}:event-bus/{bus}")
                for bus in buses]
    if service == "lambda" and op == "Invoke":
        # A Lambda hook: the function named, by ARN.
        return [dict(action="lambda:InvokeFunction", resource=body["FunctionName"], context={})]
    raise ValueError(f"{service} {op}: tests/iam/check.py does not know how AWS authorizes this "
                     f"call; teach requests_of() ({json.dumps(body)[:200]})")


def simulate(policy_sets: dict, requests: list[dict]) -> list[dict]:
    """Runs simulate.mjs over `requests` (each naming its policy set)."""
    payload = json.dumps({
        "policySets": {k: [{"name": p["name"], "policy": p["policy"]} for p in v]
                       for k, v in policy_sets.items()},
        "requests": requests,
    })
    done = subprocess.run(["node", str(HERE / "simulate.mjs")], input=payload, text=True,
                          capture_output=True, cwd=HERE)
    if done.returncode != 0:
        sys.exit(f"tests/iam/simulate.mjs failed:\n{done.stderr}")
    return json.loads(done.stdout)


def key_of(request: dict) -> str:
    keys = request["context"].get("dynamodb:LeadingKeys")
    return f" key {', '.join(keys)}" if keys else ""


def load(work: pathlib.Path):
    stack = json.loads((work / "stack.json").read_text(encoding="utf-8"))
    functions = {key: f for f, key in stack["access_keys"].items()}
    calls, others = [], 0
    for line in (work / "aws-calls.jsonl").read_text(encoding="utf-8").splitlines():
        call = json.loads(line)
        if call["key"] in functions:
            calls.append(dict(call, function=functions[call["key"]]))
        else:
            others += 1
    return stack, calls, others


def requests_for(calls: list[dict], stack: dict, pk: str, set_of) -> list[dict]:
    out = []
    for call in calls:
        for request in requests_of(call, stack, pk):
            out.append(dict(request, function=call["function"], set=set_of(call["function"]),
                            principal=f"arn:{PARTITION}:iam::{ACCOUNT}:role/{call['function']}Role",
                            account=ACCOUNT))
    return out


def required_denials(template: dict, stack: dict) -> list[tuple[str, str, dict, dict]]:
    """Requests that must be denied, with the policies to evaluate them against: neither function
    reads the other's secrets; receive reads no AppSecret even with a RulesPath above AppsPath
    (RulesPath /a with AppsPath /a/apps: ReadRules's /a/* would cover /a/apps/wx…/api)."""
    appid = stack["appid"]
    region = stack["region"]

    def parameter(name):
        return f"arn:{PARTITION}:ssm:{region}:{ACCOUNT}:parameter{name}"

    api = [f"{stack['apps_path']}/{appid}/api", stack["api_secrets"]]
    receive_reads_no_app_secret = [("ReceiveFunction", action, name) for name in api for action in
                                   ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]]
    reply_reads_no_push_secret = [("ReplyFunction", "ssm:GetParameter", name) for name in
                                  [f"{stack['apps_path']}/{appid}/push", stack["push_secrets"]]]
    above = stack["apps_path"].rsplit("/", 1)[0] or "/"
    cases = []
    for label, overrides, denied in [
        ("", None, receive_reads_no_app_secret + reply_reads_no_push_secret),
        (f" (RulesPath {above}, above AppsPath)", {"RulesPath": above}, receive_reads_no_app_secret),
    ]:
        policies = role_policies(template, stack, overrides)
        for function, action, name in denied:
            cases.append((f"{function} {action} {name}{label}", function,
                          dict(action=action, resource=parameter(name), context={}), policies))
    return cases


def check(template: dict, work: pathlib.Path) -> int:
    started = time.monotonic()
    stack, calls, others = load(work)
    pk = hash_key(template)
    policies = role_policies(template, stack)
    requests = requests_for(calls, stack, pk, lambda f: f)
    denials = required_denials(template, stack)
    policy_sets = dict(policies)
    for i, (_, function, _, sets) in enumerate(denials):
        policy_sets[f"denial{i}"] = sets[function]
    denial_requests = [dict(r, set=f"denial{i}", principal=f"arn:{PARTITION}:iam::{ACCOUNT}:role/{f}Role",
                            account=ACCOUNT)
                       for i, (_, f, r, _) in enumerate(denials)]
    results = simulate(policy_sets, requests + denial_requests)
    failed = 0

    print(f"iam: {len(calls)} recorded calls of the functions ({others} other requests ignored), "
          f"{len(requests)} authorization requests")
    for function in FUNCTIONS:
        if not any(c["function"] == function for c in calls):
            # It did not go through the recorder: nothing of it would be checked.
            print(f"FAIL  no recorded call of {function}")
            failed += 1
    groups: dict = {}
    for request, result in zip(requests, results):
        group = (request["function"], request["action"], request["resource"], result["decision"])
        groups.setdefault(group, []).append((request, result))
    for (function, action, resource, decision), members in sorted(groups.items()):
        keys = sorted({key_of(r) for r, _ in members})
        shown = keys[0] + (f" (+{len(keys) - 1} other keys)" if len(keys) > 1 else "")
        if decision == "Allowed":
            by = sorted({f"{p}:{s}" for _, res in members for p, s in res["allow"]})
            print(f"ok    {function} {action} on {resource}{shown} x{len(members)} "
                  f"(allowed by {', '.join(by)})")
        else:
            failed += len(members)
            detail = members[0][1].get("errors") or ""
            for request, _ in members:
                print(f"DENIED  {function} {action} on {request['resource']}{key_of(request)} "
                      f"({decision}{'; ' + json.dumps(detail) if detail else ''})")

    for (label, _, _, _), result in zip(denials, results[len(requests):]):
        ok = result["decision"] in ("ExplicitlyDenied", "ImplicitlyDenied")
        print(f"{'ok  ' if ok else 'FAIL'}  must be denied: {label}: {result['decision']}"
              + (f" (by {', '.join(f'{p}:{s}' for p, s in result['deny'])})" if result["deny"] else ""))
        failed += not ok

    # Each action of each statement of the template that no recorded call was allowed by, and
    # for a statement limited to key prefixes (dynamodb:LeadingKeys), each prefix an action
    # reaches that no call of that action touched (e.g. writes on items only ever read).
    used: dict = {}
    for r, res in zip(requests, results):
        if res["decision"] == "Allowed":
            for p, sid in res["allow"]:
                keys = used.setdefault((r["function"], p, sid, r["action"].lower()), set())
                keys.update(r["context"].get("dynamodb:LeadingKeys", []))
    for function, function_policies in policies.items():
        for policy in function_policies:
            if not policy["own"]:
                continue
            statements = policy["policy"]["Statement"]
            for index, statement in enumerate(statements if isinstance(statements, list) else [statements], 1):
                if statement.get("Effect") != "Allow":
                    continue
                sid = statement.get("Sid", str(index))
                actions = statement.get("Action", [])
                prefixes = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get(
                    "dynamodb:LeadingKeys", [])
                prefixes = [prefixes] if isinstance(prefixes, str) else prefixes
                for action in [actions] if isinstance(actions, str) else actions:
                    keys = used.get((function, policy["name"], sid, action.lower()))
                    if keys is None:
                        print(f"warning: {function} {policy['name']}:{sid} grants {action}, which no "
                              "recorded call used")
                        continue
                    idle = [p for p in prefixes if not any(fnmatch.fnmatchcase(k, p) for k in keys)]
                    if idle:
                        print(f"warning: {function} {policy['name']}:{sid} grants {action} on "
                              f"{', '.join(idle)} items, which no recorded call of it touched")

    print(f"iam: {failed} failure(s); evaluated in {time.monotonic() - started:.1f} s")
    return failed


def without(template: dict, function: str, action: str) -> dict:
    """template.yaml with `action` removed from every Allow statement granted to `function`."""
    mutated = copy.deepcopy(template)
    resources = mutated["Resources"]

    def strip(statements):
        kept = []
        for statement in statements:
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if statement.get("Effect") == "Allow":
                actions = [a for a in actions if a.lower() != action.lower()]
                if not actions:
                    continue
                statement["Action"] = actions
            kept.append(statement)
        return kept

    for policy in resources[function]["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            policy["Statement"] = strip(policy["Statement"])
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": f"{function}Role"} in resource["Properties"].get("Roles", []):
            document = resource["Properties"]["PolicyDocument"]
            document["Statement"] = strip(document["Statement"])
    return mutated


def mutate(template: dict, work: pathlib.Path) -> int:
    """Each (function, action) the recorded calls use, removed in turn: the check must fail."""
    started = time.monotonic()
    stack, calls, _ = load(work)
    pk = hash_key(template)
    plain = requests_for(calls, stack, pk, lambda f: f)
    pairs = sorted({(r["function"], r["action"]) for r in plain})
    policy_sets = dict(role_policies(template, stack))
    requests = [dict(r, mutation=None) for r in plain]
    for function, action in pairs:
        name = f"{function} without {action}"
        policy_sets[name] = role_policies(without(template, function, action), stack)[function]
        requests += [dict(r, set=name, mutation=name) for r in plain if r["function"] == function]
    results = simulate(policy_sets, requests)
    # A removal is noticed when a call the template allows is then denied.
    allowed = {json.dumps([r["function"], r["action"], r["resource"], r["context"]], sort_keys=True)
               for r, res in zip(requests, results)
               if r["mutation"] is None and res["decision"] == "Allowed"}
    survivors = 0
    print(f"iam --mutate: {len(pairs)} (function, action) pairs the recorded calls use; "
          f"{len(plain)} requests, {len(allowed)} distinct ones allowed by the template as it is")
    for function, action in pairs:
        name = f"{function} without {action}"
        mine = [(r, res) for r, res in zip(requests, results) if r["mutation"] == name]
        denied = [(r, res) for r, res in mine if res["decision"] != "Allowed" and json.dumps(
            [r["function"], r["action"], r["resource"], r["context"]], sort_keys=True) in allowed]
        if denied:
            r, res = next(((r, res) for r, res in denied if r["action"] == action), denied[0])
            print(f"ok    removing {action} from {function}: {len(denied)} of {len(mine)} calls "
                  f"now denied, the check fails (e.g. {r['action']} on {r['resource']}{key_of(r)}: "
                  f"{res['decision']})")
        else:
            survivors += 1
            print(f"SURVIVES  removing {action} from {function}: no call the template allowed is denied")
    print(f"iam --mutate: {survivors} removal(s) the check would not notice; "
          f"{time.monotonic() - started:.1f} s")
    return survivors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--template", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--mutate", action="store_true")
    args = parser.parse_args()
    template = yaml_parse(pathlib.Path(args.template).read_text(encoding="utf-8"))
    work = pathlib.Path(args.work)
    failed = mutate(template, work) if args.mutate else check(template, work)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
