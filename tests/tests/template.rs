//! `template.yaml` grants and configures what the code needs, and no more.
//!
//! The template is read as YAML by `kefu_tests::template` (CloudFormation's short
//! `!Ref`/`!GetAtt`/`!Sub` tags and their long `Ref`/`Fn::GetAtt`/`Fn::Sub` forms alike) and
//! checked against the code:
//! - every IAM statement of both functions names the stack's own resources: DynamoDB actions
//!   only on the table and only on the key prefixes the function owns (`dynamodb:LeadingKeys`;
//!   together its statements cover every one of them, and reply only reads hand-offs),
//!   SQS only on the job queue, SSM only on the rules path and the function's own secrets
//!   parameter (receive can never read the AppSecret, and denies itself every read of one);
//!   never `Resource: "*"`;
//! - `kms:Decrypt` only when a customer key is configured, only through SSM, only for the
//!   function's own parameter;
//! - both functions have reserved concurrency and the push API throttles, as parameters;
//! - receive times out before its claim lease (`ReceiveSettings::claim_lease`) runs out;
//! - reply consumes the job queue with partial batch failures, and the queue redrives to the
//!   dead-letter queue;
//! - the table has the schema `tests/src/aws.rs` creates for the AWS adapter tests;
//! - the rules parameter is a valid rule set under the rules path, and the environment the
//!   template gives the functions satisfies `Config`;
//! - the push path is configurable and routed (GET and POST) to receive, and nothing in the
//!   template is of a form `sam build` rejects before parameters are known (an `HttpApi`/`Api`
//!   event's `Path` must be a literal: `sam validate` and cfn-lint accept `!Ref` there);
//! - the functions' CPU is the `Architecture` parameter, arm64 by default;
//! - several apps: `PushPath/{appid}` routed to receive, each function reading only its own
//!   half of each app's secrets under `AppsPath` (receive `…/push`, reply `…/api`).
//!
//! `cfn-lint` (run by `tests/run.sh`) checks the template against CloudFormation's schemas;
//! these tests check what only this project knows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::collections::BTreeMap;
use std::time::Duration;

use kefu::config::Config;
use kefu::receive::ReceiveSettings;
use kefu::rules::RuleSet;
use kefu_tests::template::{
    Expr, expr, get_att, if_parts, items, properties, resolve, resource, scalar, sub, template,
    timeout,
};
use serde_norway::Value;

const AWS_TESTS: &str = include_str!("../src/aws.rs");

/// SSM's limit on a Standard-tier parameter value.
const SSM_STANDARD_VALUE_LIMIT: usize = 4096;

const SSM_PARAMETER: &str = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter";
const KMS_VIA_SSM: &str = "ssm.${AWS::Region}.amazonaws.com";
const TABLE_DOCS: &str = include_str!("../../shared/src/aws/table.rs");

/// What one function may reach: the SSM parameters it reads (the rules, one parameter or a
/// path, and its own secrets), the partition key prefixes of the items it owns or reads, and
/// of those the ones it only reads (`dynamodb:GetItem`).
struct Grants {
    ssm: Vec<Expr>,
    leading_keys: &'static [&'static str],
    read_only: &'static [&'static str],
}

fn grants(function: &str) -> Grants {
    type Keys = &'static [&'static str];
    let (secrets, app_secrets, leading_keys, read_only): (&str, &str, Keys, Keys) = match function {
        "ReceiveFunction" => (
            "PushSecretsParameterName",
            "push",
            &["push#*", "nonce#*", "handoff#*", "connect"],
            &[],
        ),
        "ReplyFunction" => (
            "ApiSecretsParameterName",
            "api",
            &[
                "send#*",
                "hook#*",
                "token#*",
                "quota#*",
                "media#*",
                "welcome#*",
                "events#*",
                "suggest#*",
                "asked#*",
                "handoff#*",
                "connect",
            ],
            // Hand-offs are receive's: reply reads them before answering.
            &["handoff#*"],
        ),
        other => panic!("no grants known for {other}"),
    };
    Grants {
        ssm: vec![
            sub(&format!("{SSM_PARAMETER}${{RulesPath}}")),
            sub(&format!("{SSM_PARAMETER}${{RulesPath}}/*")),
            sub(&format!("{SSM_PARAMETER}${{RulesPath}}-starter")),
            sub(&format!("{SSM_PARAMETER}${{AppsPath}}/*/rules")),
            sub(&format!("{SSM_PARAMETER}${{AppsPath}}/*/rules/*")),
            sub(&format!("{SSM_PARAMETER}${{{secrets}}}")),
            // Each app's own: receive its Token and EncodingAESKey, reply its AppSecret.
            sub(&format!("{SSM_PARAMETER}${{AppsPath}}/*/{app_secrets}")),
        ],
        leading_keys,
        read_only,
    }
}

/// What is wrong with one IAM statement of `function`, if anything.
fn statement_problems(function: &str, index: usize, statement: &Value) -> Vec<String> {
    let grants = grants(function);
    let sid = statement["Sid"]
        .as_str()
        .map_or_else(|| format!("#{index}"), str::to_owned);
    let at = format!("{function} statement {sid}");
    let mut problems = Vec::new();
    for broad in ["NotAction", "NotResource", "NotPrincipal"] {
        if statement.get(broad).is_some() {
            problems.push(format!("{at}: {broad} grants everything it does not name"));
        }
    }
    if statement["Effect"].as_str() != Some("Allow") {
        // A Deny only narrows what the other statements allow.
        return problems;
    }

    let actions: Vec<String> = items(&statement["Action"])
        .into_iter()
        .map(|a| match expr(a) {
            Expr::Literal(action) => action,
            other => format!("{other:?}"),
        })
        .collect();
    let resources: Vec<Expr> = items(&statement["Resource"])
        .into_iter()
        .map(expr)
        .collect();
    if actions.is_empty() {
        problems.push(format!("{at}: no Action"));
    }
    if resources.is_empty() {
        problems.push(format!("{at}: no Resource"));
    }
    // DescribeParameters (the apps' names: never a value) is scoped by AWS to no resource: the
    // one action allowed on "*", alone in its statement.
    if actions == ["ssm:DescribeParameters"] && resources == [Expr::Literal("*".to_owned())] {
        return problems;
    }
    if resources
        .iter()
        .any(|r| *r == Expr::Literal("*".to_owned()))
    {
        problems.push(format!("{at}: Resource \"*\""));
    }
    let mut services = std::collections::BTreeSet::new();
    for action in &actions {
        match action.split_once(':') {
            Some((service, name)) if !service.is_empty() && !name.is_empty() => {
                if name.contains('*') || name.contains('?') {
                    problems.push(format!("{at}: wildcard action {action}"));
                }
                services.insert(service.to_owned());
            }
            _ => problems.push(format!("{at}: {action} is not a service:Action name")),
        }
    }
    if services.len() > 1 {
        problems.push(format!(
            "{at}: actions of several services ({services:?}) share one statement's resources"
        ));
        return problems;
    }
    let Some(service) = services.into_iter().next() else {
        return problems;
    };

    let only = |allowed: &[Expr]| -> Vec<String> {
        resources
            .iter()
            .filter(|r| !allowed.contains(r))
            .map(|r| format!("{at}: {service} actions on {r:?}; allowed: {allowed:?}"))
            .collect()
    };
    match service.as_str() {
        "dynamodb" => {
            problems.extend(only(&[get_att("Table.Arn")]));
            let keys = leading_keys(statement);
            let expected = grants.leading_keys;
            if keys.is_empty() || keys.iter().any(|k| !expected.contains(&k.as_str())) {
                problems.push(format!(
                    "{at}: DynamoDB actions need the condition ForAllValues:StringLike \
                     dynamodb:LeadingKeys with some of {expected:?} (found {keys:?})"
                ));
            }
            let writes: Vec<&String> = actions
                .iter()
                .filter(|a| *a != "dynamodb:GetItem")
                .collect();
            for key in keys
                .iter()
                .filter(|k| grants.read_only.contains(&k.as_str()))
            {
                if !writes.is_empty() {
                    problems.push(format!(
                        "{at}: {function} only reads {key} items (dynamodb:GetItem), but the \
                         statement grants {writes:?} on them"
                    ));
                }
            }
        }
        "sqs" => problems.extend(only(&[get_att("JobQueue.Arn")])),
        "ssm" => problems.extend(only(&grants.ssm)),
        "kms" => problems.push(format!(
            "{at}: kms:Decrypt belongs in the conditional *SecretsKeyPolicy resources (only \
             with a customer key)"
        )),
        other => problems.push(format!(
            "{at}: no rule for {other} actions in this test; add one naming their resources"
        )),
    }
    problems
}

/// The key prefixes a DynamoDB statement's `ForAllValues:StringLike` condition allows.
fn leading_keys(statement: &Value) -> Vec<String> {
    let condition = &statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
    let mut keys: Vec<String> = items(condition).into_iter().filter_map(scalar).collect();
    keys.sort();
    keys
}

/// Every IAM statement of `function`'s inline policies.
fn function_statements<'a>(template: &'a Value, function: &str) -> Vec<&'a Value> {
    items(&properties(template, function)["Policies"])
        .into_iter()
        .flat_map(|policy| items(&policy["Statement"]))
        .collect()
}

#[test]
fn every_iam_statement_of_both_functions_names_its_own_resources() {
    let template = template();
    let mut problems = Vec::new();
    for function in ["ReceiveFunction", "ReplyFunction"] {
        let policies = items(&properties(&template, function)["Policies"]);
        let mut statements = 0;
        for policy in policies {
            let Some(policy_statements) = policy.get("Statement") else {
                problems.push(format!(
                    "{function}: policy {} is not an inline Statement list (a managed policy or \
                     SAM policy template grants what this test cannot check)",
                    serde_norway::to_string(policy).unwrap_or_default().trim()
                ));
                continue;
            };
            for statement in items(policy_statements) {
                problems.extend(statement_problems(function, statements, statement));
                statements += 1;
            }
        }
        if statements == 0 {
            problems.push(format!("{function}: no IAM statements"));
        }
        // Together, the function's DynamoDB statements reach every item it owns or reads.
        let mut covered: Vec<String> = function_statements(&template, function)
            .into_iter()
            .filter(|s| s["Effect"].as_str() == Some("Allow"))
            .filter(|s| {
                items(&s["Action"])
                    .into_iter()
                    .filter_map(scalar)
                    .any(|a| a.starts_with("dynamodb:"))
            })
            .flat_map(leading_keys)
            .collect();
        covered.sort();
        covered.dedup();
        let mut expected: Vec<String> = grants(function)
            .leading_keys
            .iter()
            .map(|k| (*k).to_owned())
            .collect();
        expected.sort();
        if covered != expected {
            problems.push(format!(
                "{function}: its DynamoDB statements reach {covered:?}, expected {expected:?}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "template.yaml IAM statements:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_statement_check_catches_broad_grants() {
    // The check above is only as good as its failures: broad statements must be reported.
    let broad = [
        "{Effect: Allow, Action: [dynamodb:GetItem], Resource: '*'}",
        "{Effect: Allow, Action: [dynamodb:GetItem], Resource: !Sub '${Table.Arn}/index/*'}",
        "{Effect: Allow, Action: [dynamodb:*], Resource: !GetAtt Table.Arn}",
        // the whole table, or another function's items
        "{Effect: Allow, Action: [dynamodb:GetItem], Resource: !GetAtt Table.Arn}",
        "{Effect: Allow, Action: [dynamodb:GetItem], Resource: !GetAtt Table.Arn, Condition: \
          {ForAllValues:StringLike: {dynamodb:LeadingKeys: \
          ['push#*', 'nonce#*', 'handoff#*', 'connect', 'token#*']}}}",
        "{Effect: Allow, Action: [sqs:SendMessage], Resource: !GetAtt DeadLetterQueue.Arn}",
        "{Effect: Allow, Action: [sqs:SendMessage, dynamodb:PutItem], Resource: !GetAtt Table.Arn}",
        "{Effect: Allow, Action: [ssm:GetParameter], \
          Resource: !Sub 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/*'}",
        // receive reading the AppSecret
        "{Effect: Allow, Action: [ssm:GetParameter], Resource: !Sub \
          'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${ApiSecretsParameterName}'}",
        "{Effect: Allow, Action: [kms:Decrypt], \
          Resource: !Sub 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*'}",
        "{Effect: Allow, Action: [kms:Decrypt], Resource: '*', \
          Condition: {StringEquals: {kms:ViaService: !Sub 'ssm.${AWS::Region}.amazonaws.com'}}}",
        "{Effect: Allow, Action: [s3:GetObject], Resource: !GetAtt Table.Arn}",
        "{Effect: Allow, NotAction: [iam:*], Resource: !GetAtt Table.Arn}",
    ];
    for statement in broad {
        let value: Value = serde_norway::from_str(statement).unwrap();
        assert!(
            !statement_problems("ReceiveFunction", 0, &value).is_empty(),
            "not reported: {statement}"
        );
    }
    // reply writing the hand-offs it only reads
    let reply_writes_handoffs: Value = serde_norway::from_str(
        "{Effect: Allow, Action: [dynamodb:GetItem, dynamodb:PutItem], Resource: !GetAtt Table.Arn, \
          Condition: {ForAllValues:StringLike: {dynamodb:LeadingKeys: ['handoff#*']}}}",
    )
    .unwrap();
    assert!(!statement_problems("ReplyFunction", 0, &reply_writes_handoffs).is_empty());
    let narrow: Value = serde_norway::from_str(
        "{Effect: Allow, Action: [dynamodb:PutItem], Resource: {'Fn::GetAtt': [Table, Arn]}, \
          Condition: {ForAllValues:StringLike: {dynamodb:LeadingKeys: \
          ['connect', 'handoff#*', 'nonce#*', 'push#*']}}}",
    )
    .unwrap();
    assert_eq!(
        statement_problems("ReceiveFunction", 0, &narrow),
        Vec::<String>::new()
    );
}

#[test]
fn the_key_prefixes_granted_are_the_ones_the_table_documents() {
    // The grants above follow shared/src/aws/table.rs: a prefix it does not document is a
    // grant to nothing (or to an item that moved), and every documented item has an owner.
    let documented: Vec<&str> = TABLE_DOCS
        .lines()
        .filter_map(|line| line.strip_prefix("//! | "))
        .filter_map(|row| row.split(" | `").nth(1))
        .filter_map(|pk| pk.split(['#', '`']).next())
        .collect();
    assert!(documented.len() >= 6, "table.rs documents {documented:?}");
    let mut granted: Vec<&str> = ["ReceiveFunction", "ReplyFunction"]
        .into_iter()
        .flat_map(|f| grants(f).leading_keys.iter())
        .map(|k| k.trim_end_matches("#*"))
        .collect();
    granted.sort_unstable();
    granted.dedup();
    let mut documented_sorted = documented.clone();
    documented_sorted.sort_unstable();
    documented_sorted.dedup();
    assert_eq!(granted, documented_sorted);
}

#[test]
fn receive_cannot_read_the_app_secret() {
    let template = template();
    let receive_env = &properties(&template, "ReceiveFunction")["Environment"]["Variables"];
    let reply_env = &properties(&template, "ReplyFunction")["Environment"]["Variables"];
    assert_eq!(
        expr(&receive_env["KEFU_PUSH_SECRETS_PARAMETER"]),
        Expr::Ref("PushSecretsParameterName".into())
    );
    assert_eq!(
        expr(&reply_env["KEFU_API_SECRETS_PARAMETER"]),
        Expr::Ref("ApiSecretsParameterName".into())
    );
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    for name in ["KEFU_PUSH_SECRETS_PARAMETER", "KEFU_API_SECRETS_PARAMETER"] {
        assert!(
            globals.get(name).is_none(),
            "{name} in Globals reaches both functions"
        );
    }
    assert!(receive_env.get("KEFU_API_SECRETS_PARAMETER").is_none());
    // And a Deny, so that no grant (a RulesPath above AppsPath) can ever reach an AppSecret:
    // every action that returns a parameter's value, on each AppSecret parameter.
    let denied = function_statements(&template, "ReceiveFunction")
        .into_iter()
        .find(|s| s["Effect"].as_str() == Some("Deny"))
        .expect("ReceiveFunction has no Deny statement for the AppSecrets");
    let mut actions: Vec<String> = items(&denied["Action"])
        .into_iter()
        .filter_map(scalar)
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            "ssm:GetParameter",
            "ssm:GetParameterHistory",
            "ssm:GetParameters",
            "ssm:GetParametersByPath"
        ]
    );
    let resources: Vec<Expr> = items(&denied["Resource"]).into_iter().map(expr).collect();
    assert_eq!(
        resources,
        [
            sub(&format!("{SSM_PARAMETER}${{ApiSecretsParameterName}}")),
            sub(&format!("{SSM_PARAMETER}${{AppsPath}}/*/api")),
        ]
    );
    // The two names may not be the same parameter.
    let rule = &template["Rules"]["SecretsApart"]["Assertions"][0]["Assert"];
    let rule = serde_norway::to_string(rule).unwrap();
    assert!(
        rule.contains("PushSecretsParameterName") && rule.contains("ApiSecretsParameterName"),
        "{rule}"
    );
}

#[test]
fn kms_decrypt_only_with_a_customer_key_through_ssm_for_the_functions_own_parameter() {
    let template = template();
    assert_eq!(
        template["Parameters"]["SecretsKmsKeyArn"]["Default"].as_str(),
        Some("")
    );
    for (policy, role, secrets, app_secrets) in [
        (
            "ReceiveSecretsKeyPolicy",
            "ReceiveFunctionRole",
            "PushSecretsParameterName",
            "push",
        ),
        (
            "ReplySecretsKeyPolicy",
            "ReplyFunctionRole",
            "ApiSecretsParameterName",
            "api",
        ),
    ] {
        let resource = resource(&template, policy);
        assert_eq!(resource["Type"].as_str(), Some("AWS::IAM::Policy"));
        assert_eq!(
            resource["Condition"].as_str(),
            Some("HasSecretsKmsKey"),
            "{policy}"
        );
        let properties = &resource["Properties"];
        let roles: Vec<Expr> = items(&properties["Roles"]).into_iter().map(expr).collect();
        assert_eq!(roles, [Expr::Ref(role.into())], "{policy}");
        let statements = items(&properties["PolicyDocument"]["Statement"]);
        assert_eq!(statements.len(), 1, "{policy}");
        let statement = statements[0];
        let actions: Vec<Expr> = items(&statement["Action"]).into_iter().map(expr).collect();
        assert_eq!(actions, [Expr::Literal("kms:Decrypt".into())], "{policy}");
        assert_eq!(
            expr(&statement["Resource"]),
            Expr::Ref("SecretsKmsKeyArn".into())
        );
        let condition = &statement["Condition"];
        assert_eq!(
            expr(&condition["StringEquals"]["kms:ViaService"]),
            sub(KMS_VIA_SSM)
        );
        let parameters: Vec<Expr> =
            items(&condition["StringLike"]["kms:EncryptionContext:PARAMETER_ARN"])
                .into_iter()
                .map(expr)
                .collect();
        assert_eq!(
            parameters,
            [
                sub(&format!("{SSM_PARAMETER}${{{secrets}}}")),
                sub(&format!("{SSM_PARAMETER}${{AppsPath}}/*/{app_secrets}")),
            ],
            "{policy}"
        );
    }
    let condition = serde_norway::to_string(&template["Conditions"]["HasSecretsKmsKey"]).unwrap();
    assert!(condition.contains("SecretsKmsKeyArn"), "{condition}");
}

#[test]
fn events_go_to_the_named_bus_only_and_only_reply_may_put_them() {
    let template = template();
    let parameter = &template["Parameters"]["EventBusName"];
    assert_eq!(
        parameter["Default"].as_str(),
        Some(""),
        "events are off unless named"
    );
    let condition = serde_norway::to_string(&template["Conditions"]["HasEventBus"]).unwrap();
    assert!(condition.contains("EventBusName"), "{condition}");

    let policy = resource(&template, "ReplyEventsPolicy");
    assert_eq!(policy["Type"].as_str(), Some("AWS::IAM::Policy"));
    assert_eq!(policy["Condition"].as_str(), Some("HasEventBus"));
    let properties = &policy["Properties"];
    let roles: Vec<Expr> = items(&properties["Roles"]).into_iter().map(expr).collect();
    assert_eq!(roles, [Expr::Ref("ReplyFunctionRole".into())]);
    let statements = items(&properties["PolicyDocument"]["Statement"]);
    assert_eq!(statements.len(), 1);
    let statement = statements[0];
    assert_eq!(statement["Effect"].as_str(), Some("Allow"));
    let actions: Vec<Expr> = items(&statement["Action"]).into_iter().map(expr).collect();
    assert_eq!(actions, [Expr::Literal("events:PutEvents".into())]);
    let resources: Vec<Expr> = items(&statement["Resource"])
        .into_iter()
        .map(expr)
        .collect();
    assert_eq!(
        resources,
        [sub(
            "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"
        )],
        "that bus, no other"
    );
    assert!(statement.get("NotResource").is_none() && statement.get("NotAction").is_none());

    // No other statement grants an EventBridge action: neither function's own policies, nor
    // another policy resource.
    let mut statements: Vec<(String, &Value)> = ["ReceiveFunction", "ReplyFunction"]
        .into_iter()
        .flat_map(|f| {
            function_statements(&template, f)
                .into_iter()
                .map(move |s| (f.to_owned(), s))
        })
        .collect();
    for (name, other) in template["Resources"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        if other["Type"].as_str() == Some("AWS::IAM::Policy") && name != "ReplyEventsPolicy" {
            for statement in items(&other["Properties"]["PolicyDocument"]["Statement"]) {
                statements.push((name.to_owned(), statement));
            }
        }
    }
    for (owner, statement) in statements {
        for action in items(&statement["Action"]).into_iter().filter_map(scalar) {
            assert!(!action.starts_with("events:"), "{owner} grants {action}");
        }
    }
    assert_eq!(
        expr(&template["Globals"]["Function"]["Environment"]["Variables"]["KEFU_EVENT_BUS"]),
        Expr::Ref("EventBusName".into())
    );
    assert_eq!(
        expr(&properties_of_reply_env(&template)["KEFU_EVENT_OPENID"]),
        Expr::Ref("EventOpenId".into())
    );
}

fn properties_of_reply_env(template: &Value) -> &Value {
    &properties(template, "ReplyFunction")["Environment"]["Variables"]
}

#[test]
fn both_functions_have_reserved_concurrency_and_the_push_api_throttles() {
    let template = template();
    for (function, parameter, condition, default) in [
        (
            "ReceiveFunction",
            "ReceiveConcurrency",
            "ReservesReceive",
            20,
        ),
        ("ReplyFunction", "ReplyConcurrency", "ReservesReply", 5),
    ] {
        let reserved = &properties(&template, function)["ReservedConcurrentExecutions"];
        let (when, then, otherwise) =
            if_parts(reserved).unwrap_or_else(|| panic!("{function}: {reserved:?}"));
        assert_eq!(when, condition);
        assert_eq!(expr(&then), Expr::Ref(parameter.into()));
        assert_eq!(expr(&otherwise), Expr::Ref("AWS::NoValue".into()));
        assert_eq!(
            template["Parameters"][parameter]["Default"].as_u64(),
            Some(default),
            "{parameter}"
        );
        let condition = serde_norway::to_string(&template["Conditions"][condition]).unwrap();
        assert!(condition.contains(parameter), "{condition}");
    }
    // The event source starts no more batches than reply may run.
    let events = properties(&template, "ReplyFunction")["Events"]
        .as_mapping()
        .unwrap();
    let jobs = events.values().next().unwrap();
    let (when, then, _) = if_parts(&jobs["Properties"]["ScalingConfig"]).expect("ScalingConfig");
    assert_eq!(when, "ReservesReply");
    assert_eq!(
        expr(&then["MaximumConcurrency"]),
        Expr::Ref("ReplyConcurrency".into())
    );

    let route = &properties(&template, "PushApiStage")["DefaultRouteSettings"];
    assert_eq!(
        expr(&route["ThrottlingRateLimit"]),
        Expr::Ref("PushRateLimit".into())
    );
    assert_eq!(
        expr(&route["ThrottlingBurstLimit"]),
        Expr::Ref("PushBurstLimit".into())
    );
    for parameter in ["PushRateLimit", "PushBurstLimit"] {
        let default = template["Parameters"][parameter]["Default"].as_u64();
        assert!(default.is_some_and(|d| d > 0), "{parameter}: {default:?}");
    }
}

#[test]
fn receive_times_out_before_its_claim_lease_runs_out() {
    // A live attempt must never be taken over: the lease outlives the function's last moment.
    let lease = ReceiveSettings::new(kefu::sample::credentials()).claim_lease;
    let receive = timeout(&template(), "ReceiveFunction");
    assert!(
        receive < lease,
        "ReceiveFunction's Timeout ({receive:?}) must be below receive's claim lease ({lease:?})"
    );
}

#[test]
fn reply_consumes_the_job_queue_reporting_partial_batch_failures() {
    let template = template();
    let events = properties(&template, "ReplyFunction")["Events"]
        .as_mapping()
        .expect("ReplyFunction has Events");
    let sqs: Vec<&Value> = events
        .values()
        .filter(|event| event["Type"].as_str() == Some("SQS"))
        .collect();
    assert_eq!(
        sqs.len(),
        2,
        "ReplyFunction has two SQS event sources: the jobs and the outbox"
    );
    let queues: Vec<Expr> = sqs
        .iter()
        .map(|s| expr(&s["Properties"]["Queue"]))
        .collect();
    assert_eq!(
        queues,
        [get_att("JobQueue.Arn"), get_att("OutboxQueue.Arn")],
        "the jobs first (the scaling check reads the first)"
    );
    for (queue, source) in ["JobQueue", "OutboxQueue"].into_iter().zip(&sqs) {
        let source = &source["Properties"];
        let response_types: Vec<&str> = items(&source["FunctionResponseTypes"])
            .into_iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            response_types.contains(&"ReportBatchItemFailures"),
            "{queue}: without ReportBatchItemFailures one failed job redelivers its whole batch \
             (FunctionResponseTypes: {response_types:?})"
        );

        // AWS recommends six times the function's timeout; below one timeout the stack fails.
        let reply = timeout(&template, "ReplyFunction");
        let visibility = properties(&template, queue)["VisibilityTimeout"]
            .as_u64()
            .unwrap_or_else(|| panic!("{queue} sets VisibilityTimeout"));
        assert!(
            Duration::from_secs(visibility) >= reply * 6,
            "{queue}'s VisibilityTimeout ({visibility} s) is below 6 × ReplyFunction's Timeout \
             ({reply:?})"
        );
    }
}

#[test]
fn the_outbox_has_its_dead_letters_its_alarm_and_a_producer_policy_that_only_sends() {
    let template = template();
    let redrive = &properties(&template, "OutboxQueue")["RedrivePolicy"];
    assert_eq!(
        expr(&redrive["deadLetterTargetArn"]),
        get_att("OutboxDeadLetterQueue.Arn")
    );
    assert_eq!(
        resource(&template, "OutboxDeadLetterQueue")["Type"].as_str(),
        Some("AWS::SQS::Queue")
    );
    // No command outlives the send keys the ledger keeps, and none is dropped by the queue
    // before the reply function would settle it as too old.
    let retention = properties(&template, "OutboxQueue")["MessageRetentionPeriod"]
        .as_u64()
        .expect("OutboxQueue sets MessageRetentionPeriod");
    let retention = Duration::from_secs(retention);
    assert!(retention < kefu::send::budget::LEDGER_TTL, "{retention:?}");
    assert!(
        retention.as_millis() >= u128::try_from(kefu::outbox::MAX_COMMAND_AGE_MS).unwrap(),
        "{retention:?}"
    );
    let alarm = properties(&template, "OutboxDeadLetterAlarm");
    assert_eq!(
        expr(&items(&alarm["Dimensions"])[0]["Value"]),
        get_att("OutboxDeadLetterQueue.QueueName")
    );

    let policy = resource(&template, "OutboxProducerPolicy");
    assert_eq!(policy["Type"].as_str(), Some("AWS::IAM::ManagedPolicy"));
    let statements = items(&policy["Properties"]["PolicyDocument"]["Statement"]);
    assert_eq!(statements.len(), 1, "one statement: {statements:?}");
    let statement = statements[0];
    assert_eq!(statement["Effect"].as_str(), Some("Allow"));
    let actions: Vec<Expr> = items(&statement["Action"]).into_iter().map(expr).collect();
    assert_eq!(actions, [Expr::Literal("sqs:SendMessage".into())]);
    let resources: Vec<Expr> = items(&statement["Resource"])
        .into_iter()
        .map(expr)
        .collect();
    assert_eq!(resources, [get_att("OutboxQueue.Arn")]);
    assert!(statement.get("Condition").is_none());
    let outputs = &template["Outputs"];
    assert_eq!(
        expr(&outputs["OutboxProducerPolicyArn"]["Value"]),
        Expr::Ref("OutboxProducerPolicy".into())
    );
    assert_eq!(
        expr(&outputs["OutboxQueueUrl"]["Value"]),
        Expr::Ref("OutboxQueue".into())
    );

    // Outbox batches take at most two of reply's reserved concurrency.
    let events = properties(&template, "ReplyFunction")["Events"]
        .as_mapping()
        .unwrap();
    let outbox = events
        .values()
        .find(|e| expr(&e["Properties"]["Queue"]) == get_att("OutboxQueue.Arn"))
        .unwrap();
    let (when, then, _) = if_parts(&outbox["Properties"]["ScalingConfig"]).expect("ScalingConfig");
    assert_eq!(when, "ReservesReply");
    assert_eq!(then["MaximumConcurrency"].as_u64(), Some(2));
}

#[test]
fn the_job_queue_redrives_to_the_dead_letter_queue() {
    let template = template();
    let redrive = &properties(&template, "JobQueue")["RedrivePolicy"];
    assert_eq!(
        expr(&redrive["deadLetterTargetArn"]),
        get_att("DeadLetterQueue.Arn"),
        "JobQueue's RedrivePolicy targets the dead-letter queue"
    );
    let max_receives = redrive["maxReceiveCount"]
        .as_u64()
        .expect("RedrivePolicy sets maxReceiveCount");
    assert!(
        (1..=1000).contains(&max_receives),
        "maxReceiveCount {max_receives}"
    );
    assert_eq!(
        resource(&template, "DeadLetterQueue")["Type"].as_str(),
        Some("AWS::SQS::Queue")
    );
}

/// The ```yaml block in `tests/src/aws.rs`'s docs: the table schema the AWS tests create.
fn aws_tests_table_schema() -> Value {
    let mut block = Vec::new();
    let mut inside = false;
    for line in AWS_TESTS.lines() {
        let Some(doc) = line.trim_start().strip_prefix("///") else {
            continue;
        };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        if inside && doc.trim() == "```" {
            break;
        }
        if inside {
            block.push(doc);
        }
        inside |= doc.trim() == "```yaml";
    }
    assert!(
        !block.is_empty(),
        "tests/src/aws.rs documents no ```yaml table schema"
    );
    let schema: Value = serde_norway::from_str(&block.join("\n"))
        .expect("the ```yaml block in tests/src/aws.rs is not YAML");
    schema["Table"]["Properties"].clone()
}

#[test]
fn the_table_has_the_schema_the_aws_tests_create() {
    let template = template();
    assert_eq!(
        resource(&template, "Table")["Type"].as_str(),
        Some("AWS::DynamoDB::Table")
    );
    let table = properties(&template, "Table");
    let schema = aws_tests_table_schema();
    for property in [
        "BillingMode",
        "AttributeDefinitions",
        "KeySchema",
        "TimeToLiveSpecification",
    ] {
        assert_eq!(
            table[property], schema[property],
            "Table.{property} differs from the schema documented in tests/src/aws.rs"
        );
    }
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"],
        "expires_at"
    );
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
    let keys: Vec<(&str, &str)> = items(&table["KeySchema"])
        .into_iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap(),
                k["KeyType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(keys, [("pk", "HASH"), ("sk", "RANGE")]);

    // The documented schema is the one `create_table` builds (code lines, not its docs).
    let code: String = AWS_TESTS
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [
        r#"attribute("pk")"#,
        r#"attribute("sk")"#,
        r#"key("pk", KeyType::Hash)"#,
        r#"key("sk", KeyType::Range)"#,
        r#".attribute_name("expires_at")"#,
        "BillingMode::PayPerRequest",
    ] {
        assert!(
            code.contains(needle),
            "tests/src/aws.rs create_table no longer has {needle}: update its documented schema \
             and template.yaml together"
        );
    }
}

#[test]
fn the_starting_rules_are_a_valid_rule_set_beside_the_rules_path() {
    let template = template();
    let rules = properties(&template, "RulesParameter");
    assert_eq!(rules["Type"].as_str(), Some("String"));
    match expr(&rules["Name"]) {
        // Beside the path, never under it: `kefu rules push` owns the path, so the stack and
        // the CLI never write the same parameter.
        Expr::Sub(name) if name == "${RulesPath}-starter" => {}
        other => panic!("RulesParameter's Name must be ${{RulesPath}}-starter: {other:?}"),
    }
    // YAML's `>-` folds the lines into one, joined by spaces.
    let value = rules["Value"].as_str().expect("RulesParameter has a Value");
    assert!(!value.contains('\n'), "the folded Value keeps a newline");
    assert!(
        value.len() <= SSM_STANDARD_VALUE_LIMIT,
        "RulesParameter's Value is {} bytes, over the Standard tier's {SSM_STANDARD_VALUE_LIMIT}",
        value.len()
    );
    let set = RuleSet::from_json(value)
        .unwrap_or_else(|e| panic!("RulesParameter's Value is not a valid rule set: {e}"));
    assert!(
        !set.rules.is_empty(),
        "the deployed rules should have at least the transfer rule"
    );
}

#[test]
fn the_functions_environment_satisfies_the_configuration() {
    let template = template();
    for function in ["ReceiveFunction", "ReplyFunction"] {
        let mut env = BTreeMap::new();
        for variables in [
            &template["Globals"]["Function"]["Environment"]["Variables"],
            &properties(&template, function)["Environment"]["Variables"],
        ] {
            for (name, value) in variables.as_mapping().into_iter().flatten() {
                let name = name
                    .as_str()
                    .expect("variable names are strings")
                    .to_owned();
                env.insert(name, resolve(&template, value));
            }
        }
        let config = Config::from_lookup(|name| env.get(name).cloned())
            .unwrap_or_else(|e| panic!("{function}'s environment: {e} ({env:?})"));
        assert!(
            config.queue_url.is_some(),
            "{function} has no KEFU_QUEUE_URL"
        );
        let (needed, secrets) = if function == "ReceiveFunction" {
            ("PushSecretsParameterName", &config.push_secrets_parameter)
        } else {
            ("ApiSecretsParameterName", &config.api_secrets_parameter)
        };
        assert_eq!(
            secrets.as_deref(),
            template["Parameters"][needed]["Default"].as_str(),
            "{function}'s secrets parameter"
        );
        assert_eq!(
            config.rules_path,
            resolve(&template, &template["Parameters"]["RulesPath"]["Default"])
        );
        assert_eq!(
            config.starter_rules.as_deref(),
            Some("RulesParameter-physical-id"),
            "{function} reads the stack's starting rules while the rules path is empty"
        );
        // By default a stack of the apps under AppsPath only; AppId adds one at PushPath.
        assert_eq!(config.appid, None, "{function}");
        if function == "ReplyFunction" {
            assert_eq!(
                config.outbox_queue_arn.as_deref(),
                Some("OutboxQueue.Arn-value"),
                "reply tells outbox records by the outbox queue's ARN"
            );
        }
        assert_eq!(
            config.apps_path.as_deref(),
            template["Parameters"]["AppsPath"]["Default"].as_str(),
            "{function}"
        );
    }
}

#[test]
fn the_apps_path_is_not_the_rules_path() {
    // Both functions read the rules path whole; the apps path holds every app's secrets.
    let template = template();
    let rule = &template["Rules"]["AppsApart"]["Assertions"][0]["Assert"];
    let rule = serde_norway::to_string(rule).unwrap();
    assert!(
        rule.contains("AppsPath") && rule.contains("RulesPath"),
        "{rule}"
    );
    assert_ne!(
        template["Parameters"]["AppsPath"]["Default"],
        template["Parameters"]["RulesPath"]["Default"]
    );
}

#[test]
fn no_function_event_path_needs_a_parameter_at_build_time() {
    // `sam build` translates HttpApi/Api events before it knows parameter values: `Path: !Ref`
    // fails it with "Property 'Path' should be a string."
    let template = template();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        let Some(events) = resource["Properties"]
            .get("Events")
            .and_then(Value::as_mapping)
        else {
            continue;
        };
        for (event, definition) in events {
            if matches!(definition["Type"].as_str(), Some("HttpApi" | "Api")) {
                let path = &definition["Properties"]["Path"];
                assert!(
                    matches!(expr(path), Expr::Literal(_)),
                    "{name:?} event {event:?}: Path must be a literal for sam build, is {path:?}"
                );
            }
        }
    }
}

#[test]
fn the_push_path_is_routed_to_receive_for_get_and_post() {
    let template = template();
    let mut routes: Vec<String> = Vec::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::ApiGatewayV2::Route") {
            continue;
        }
        let properties = &resource["Properties"];
        assert_eq!(expr(&properties["ApiId"]), Expr::Ref("PushApi".into()));
        assert_eq!(
            expr(&properties["Target"]),
            sub("integrations/${ReceiveIntegration}")
        );
        match expr(&properties["RouteKey"]) {
            Expr::Sub(key) => routes.push(key),
            other => panic!("a route key that is not on ${{PushPath}}: {other:?}"),
        }
    }
    routes.sort();
    assert_eq!(
        routes,
        [
            "GET ${PushPath}",
            "GET ${PushPath}/{appid}",
            "POST ${PushPath}",
            "POST ${PushPath}/{appid}",
        ]
    );

    let integration = properties(&template, "ReceiveIntegration");
    assert_eq!(
        expr(&integration["IntegrationUri"]),
        get_att("ReceiveFunction.Arn")
    );
    assert_eq!(integration["IntegrationType"].as_str(), Some("AWS_PROXY"));
    // lambda_http reads API Gateway's payload format 2.0 (the events in events/ are 2.0).
    assert_eq!(integration["PayloadFormatVersion"].as_str(), Some("2.0"));
    assert_eq!(
        properties(&template, "PushApi")["ProtocolType"].as_str(),
        Some("HTTP")
    );
    assert_eq!(
        properties(&template, "PushApiStage")["AutoDeploy"].as_bool(),
        Some(true)
    );

    // API Gateway may invoke receive on the push paths only.
    for (name, path) in [
        ("ReceiveInvokedByPushApi", "${PushPath}"),
        ("ReceiveInvokedByPushApiForApps", "${PushPath}/*"),
    ] {
        let permission = properties(&template, name);
        assert_eq!(
            expr(&permission["FunctionName"]),
            Expr::Ref("ReceiveFunction".into())
        );
        assert_eq!(
            permission["Principal"].as_str(),
            Some("apigateway.amazonaws.com")
        );
        assert_eq!(
            expr(&permission["SourceArn"]),
            sub(&format!(
                "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{PushApi}}/*/*{path}"
            )),
            "{name}"
        );
    }
    match expr(&template["Outputs"]["PushUrl"]["Value"]) {
        Expr::Sub(url) => assert!(url.ends_with("${PushPath}"), "PushUrl {url}"),
        other => panic!("PushUrl {other:?}"),
    }
}

#[test]
fn the_functions_run_on_the_architecture_parameter_arm64_by_default() {
    let template = template();
    let parameter = &template["Parameters"]["Architecture"];
    assert_eq!(parameter["Default"].as_str(), Some("arm64"));
    let allowed: Vec<&str> = items(&parameter["AllowedValues"])
        .into_iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(allowed, ["arm64", "x86_64"]);
    let architectures = items(&template["Globals"]["Function"]["Architectures"]);
    assert_eq!(architectures.len(), 1);
    assert_eq!(expr(architectures[0]), Expr::Ref("Architecture".into()));
    for function in ["ReceiveFunction", "ReplyFunction"] {
        assert!(
            properties(&template, function)
                .get("Architectures")
                .is_none(),
            "{function} overrides the Architecture parameter"
        );
    }
}

#[test]
fn reply_can_call_wechat_from_one_fixed_address_when_asked() {
    // WeChat's API IP whitelist: Lambda has no fixed outbound address of its own.
    let template = template();
    assert_eq!(
        template["Parameters"]["StaticEgressIp"]["Default"].as_str(),
        Some("false"),
        "a NAT gateway costs money every hour: off unless asked"
    );
    let (when, then, otherwise) =
        if_parts(&properties(&template, "ReplyFunction")["VpcConfig"]).expect("VpcConfig: !If");
    assert_eq!(when, "HasStaticEgress");
    assert_eq!(expr(&otherwise), Expr::Ref("AWS::NoValue".into()));
    let subnets: Vec<Expr> = items(&then["SubnetIds"]).into_iter().map(expr).collect();
    assert_eq!(subnets, [Expr::Ref("EgressPrivateSubnet".into())]);
    // The private subnet's default route goes through the NAT gateway, which holds the EIP.
    let route = properties(&template, "EgressPrivateDefaultRoute");
    assert_eq!(
        expr(&route["RouteTableId"]),
        Expr::Ref("EgressPrivateRoutes".into())
    );
    assert_eq!(
        expr(&route["NatGatewayId"]),
        Expr::Ref("EgressNatGateway".into())
    );
    let association = properties(&template, "EgressPrivateSubnetRoutes");
    assert_eq!(
        expr(&association["SubnetId"]),
        Expr::Ref("EgressPrivateSubnet".into())
    );
    assert_eq!(
        expr(&properties(&template, "EgressNatGateway")["AllocationId"]),
        get_att("EgressIp.AllocationId")
    );
    assert_eq!(
        expr(&template["Outputs"]["EgressIp"]["Value"]),
        Expr::Ref("EgressIp".into())
    );
    // Every resource of the option exists only with it.
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        if name.starts_with("Egress") || name == "ReplySecurityGroup" {
            assert_eq!(
                resource["Condition"].as_str(),
                Some("HasStaticEgress"),
                "{name}"
            );
        }
    }
}

#[test]
fn replies_are_not_held_back_by_a_batching_window() {
    // A chat user waits for the reply; on a quiet queue a window holds every job for its length.
    let template = template();
    let events = properties(&template, "ReplyFunction")["Events"]
        .as_mapping()
        .expect("ReplyFunction has Events");
    for (name, event) in events {
        let window = event["Properties"]
            .get("MaximumBatchingWindowInSeconds")
            .map_or(0, |w| w.as_u64().expect("a whole number of seconds"));
        assert_eq!(window, 0, "event {name:?}: MaximumBatchingWindowInSeconds");
    }
}

#[test]
fn alarms_notify_the_alarm_topic_and_logs_are_kept_for_a_set_time() {
    let template = template();
    for alarm in ["DeadLetterAlarm", "OutboxDeadLetterAlarm", "PushErrorAlarm"] {
        let actions: Vec<Expr> = items(&properties(&template, alarm)["AlarmActions"])
            .into_iter()
            .map(expr)
            .collect();
        assert_eq!(actions, [Expr::Ref("AlarmTopic".into())], "{alarm}");
    }
    let push_errors = properties(&template, "PushErrorAlarm");
    assert_eq!(push_errors["MetricName"].as_str(), Some("5xx"));
    assert_eq!(
        expr(&items(&push_errors["Dimensions"])[0]["Value"]),
        Expr::Ref("PushApi".into())
    );
    for (function, group) in [
        ("ReceiveFunction", "ReceiveLogGroup"),
        ("ReplyFunction", "ReplyLogGroup"),
    ] {
        assert_eq!(
            expr(&properties(&template, function)["LoggingConfig"]["LogGroup"]),
            Expr::Ref(group.into()),
            "{function} logs to its own group"
        );
        assert_eq!(
            expr(&properties(&template, group)["RetentionInDays"]),
            Expr::Ref("LogRetentionDays".into())
        );
    }
}

/// Every `metrics::count("…")` name under shared/src.
fn emitted_metrics() -> Vec<String> {
    fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let code = std::fs::read_to_string(&path).unwrap();
                for part in code.split("metrics::count(\"").skip(1) {
                    found.push(part.split('"').next().unwrap().to_owned());
                }
                // The outcome of each user message, by outcome (`metrics::outcome`).
                if code.contains("pub fn outcome(") {
                    let name = code.split("pub const MESSAGES: &str = \"").nth(1).unwrap();
                    found.push(name.split('"').next().unwrap().to_owned());
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src"),
        &mut found,
    );
    found.sort();
    found.dedup();
    found
}

#[test]
fn the_dashboard_shows_every_metric_kefu_emits_and_no_other() {
    let template = template();
    let body = match expr(&properties(&template, "Dashboard")["DashboardBody"]) {
        Expr::Sub(body) => body,
        other => panic!("DashboardBody {other:?}"),
    };
    let mut shown: Vec<String> = body
        .split("[\"kefu\", \"")
        .skip(1)
        .map(|part| part.split('"').next().unwrap().to_owned())
        .collect();
    shown.sort();
    // `messages` is shown once per outcome.
    shown.dedup();
    assert_eq!(shown, emitted_metrics());
}

#[test]
fn the_dashboard_shows_every_outcome_of_a_user_message() {
    let template = template();
    let body = match expr(&properties(&template, "Dashboard")["DashboardBody"]) {
        Expr::Sub(body) => body,
        other => panic!("DashboardBody {other:?}"),
    };
    let learn = include_str!("../../shared/src/learn.rs");
    let names = learn
        .split("pub fn name(&self)")
        .nth(1)
        .unwrap()
        .split("\n    }\n")
        .next()
        .unwrap();
    let outcomes: Vec<&str> = names
        .split("=> \"")
        .skip(1)
        .map(|part| part.split('"').next().unwrap())
        .collect();
    assert_eq!(outcomes.len(), 8, "{outcomes:?}");
    for outcome in outcomes {
        assert!(
            body.contains(&format!(
                "[\"kefu\", \"messages\", \"outcome\", \"{outcome}\"]"
            )),
            "the dashboard does not show the outcome {outcome}"
        );
    }
}

#[test]
fn reply_invokes_only_the_named_hook_functions_and_reads_only_the_hook_secret() {
    let template = template();
    for parameter in ["HookFunctionArns", "HookSecretParameterName"] {
        assert_eq!(
            template["Parameters"][parameter]["Default"].as_str(),
            Some(""),
            "{parameter}: none unless the operator names them"
        );
    }
    for (policy, condition, action, resource_is) in [
        (
            "ReplyHookInvokePolicy",
            "HasHookFunctions",
            "lambda:InvokeFunction",
            Expr::Ref("HookFunctionArns".into()),
        ),
        (
            "ReplyHookSecretPolicy",
            "HasHookSecret",
            "ssm:GetParameter",
            sub(&format!("{SSM_PARAMETER}${{HookSecretParameterName}}")),
        ),
    ] {
        let resource = resource(&template, policy);
        assert_eq!(resource["Type"].as_str(), Some("AWS::IAM::Policy"));
        assert_eq!(resource["Condition"].as_str(), Some(condition), "{policy}");
        let properties = &resource["Properties"];
        let roles: Vec<Expr> = items(&properties["Roles"]).into_iter().map(expr).collect();
        assert_eq!(roles, [Expr::Ref("ReplyFunctionRole".into())], "{policy}");
        let statements = items(&properties["PolicyDocument"]["Statement"]);
        assert_eq!(statements.len(), 1, "{policy}");
        let statement = statements[0];
        assert_eq!(statement["Effect"].as_str(), Some("Allow"));
        let actions: Vec<Expr> = items(&statement["Action"]).into_iter().map(expr).collect();
        assert_eq!(actions, [Expr::Literal(action.into())], "{policy}");
        assert_eq!(expr(&statement["Resource"]), resource_is, "{policy}");
        let defined = serde_norway::to_string(&template["Conditions"][condition]).unwrap();
        let parameter = match resource_is {
            Expr::Ref(name) => name,
            _ => "HookSecretParameterName".into(),
        };
        assert!(defined.contains(&parameter), "{condition}: {defined}");
    }
    // No other grant lets a function invoke Lambda (the Lambda::Permission resources let API
    // Gateway invoke receive: not a grant to a function).
    for function in ["ReceiveFunction", "ReplyFunction"] {
        for statement in function_statements(&template, function) {
            let text = serde_norway::to_string(statement).unwrap();
            assert!(!text.contains("lambda:"), "{function}: {text}");
        }
    }
    let resources = template["Resources"].as_mapping().unwrap();
    for (name, resource) in resources {
        let kind = resource["Type"].as_str().unwrap_or_default();
        if kind.starts_with("AWS::IAM::") && name.as_str() != Some("ReplyHookInvokePolicy") {
            let text = serde_norway::to_string(resource).unwrap();
            assert!(!text.contains("lambda:"), "{name:?}: {text}");
        }
    }
    // The function reads what the policies grant.
    let environment = &properties(&template, "ReplyFunction")["Environment"]["Variables"];
    assert_eq!(
        expr(&environment["KEFU_HOOK_SECRET_PARAMETER"]),
        Expr::Ref("HookSecretParameterName".into())
    );
}
