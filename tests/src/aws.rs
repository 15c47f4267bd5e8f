//! Support for the tests of the AWS adapters (`kefu::aws`), which run through the real Rust SDK
//! against a moto server on loopback.
//!
//! `tests/run.sh` starts the server and exports its address as `KEFU_TEST_AWS_ENDPOINT`, with
//! dummy credentials. Every test creates its own table, queue or parameters under a
//! [`unique`] name, so tests running in parallel (threads or processes) never share state and
//! nothing needs resetting between them.
//!
//! Like the rest of this crate, a helper that cannot set a test up panics with a message.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_ssm::types::ParameterType;

/// The variable `tests/run.sh` sets to the moto server's URL.
pub const ENDPOINT_VAR: &str = "KEFU_TEST_AWS_ENDPOINT";

/// The region the tests use; moto accepts any.
pub const REGION: &str = "us-east-1";

/// The moto server's URL, from [`ENDPOINT_VAR`].
///
/// # Panics
/// When the variable is unset: the tests were not started by `tests/run.sh`.
pub fn endpoint() -> String {
    match std::env::var(ENDPOINT_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "moto server not running: run `bash tests/run.sh`, which starts it \
             ({ENDPOINT_VAR} is not set)"
        ),
    }
}

/// The SDK configuration for the moto server: its endpoint, [`REGION`] and static test
/// credentials. Nothing is read from the machine's AWS configuration.
///
/// # Panics
/// When `KEFU_TEST_AWS_ENDPOINT` is unset (see [`endpoint`]).
pub async fn sdk_config() -> SdkConfig {
    sdk_config_at(&endpoint()).await
}

/// The same configuration, pointed at `endpoint` (a proxy in front of moto).
pub async fn sdk_config_at(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(kefu::tls::aws_http_client(kefu::tls::AwsRoots::Amazon))
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "kefu-tests"))
        .load()
        .await
}

/// `prefix-` and 16 random hex digits: a name no other test, thread or process will use.
/// Valid as a DynamoDB table name, an SQS queue name and an SSM path segment.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // `RandomState` is seeded from the OS once per process and varied per instance; the pid,
    // the clock and a counter make the name unique even if it were not.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{prefix}-{:016x}", hasher.finish())
}

/// Creates an on-demand table with the schema `kefu::aws::DynamoTable` writes, and returns its
/// name. The same schema, for `template.yaml`:
///
/// ```yaml
/// Table:
///   Type: AWS::DynamoDB::Table
///   Properties:
///     BillingMode: PAY_PER_REQUEST
///     AttributeDefinitions:
///       - { AttributeName: pk, AttributeType: S }
///       - { AttributeName: sk, AttributeType: S }
///     KeySchema:
///       - { AttributeName: pk, KeyType: HASH }
///       - { AttributeName: sk, KeyType: RANGE }
///     TimeToLiveSpecification:
///       AttributeName: expires_at
///       Enabled: true
/// ```
///
/// # Panics
/// When the table cannot be created.
pub async fn create_table(client: &aws_sdk_dynamodb::Client) -> String {
    let name = unique("kefu-table");
    let attribute = |attribute: &str| {
        AttributeDefinition::builder()
            .attribute_name(attribute)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap_or_else(|e| panic!("attribute definition {attribute}: {e}"))
    };
    let key = |attribute: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(attribute)
            .key_type(key_type)
            .build()
            .unwrap_or_else(|e| panic!("key schema element {attribute}: {e}"))
    };
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create table {name}: {}", describe(&e)));
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name("expires_at")
        .enabled(true)
        .build()
        .unwrap_or_else(|e| panic!("time-to-live specification: {e}"));
    client
        .update_time_to_live()
        .table_name(&name)
        .time_to_live_specification(ttl)
        .send()
        .await
        .unwrap_or_else(|e| panic!("enable TTL on {name}: {}", describe(&e)));
    name
}

/// Creates a queue (FIFO if asked: its name ends in `.fifo`) and returns its URL.
///
/// # Panics
/// When the queue cannot be created.
pub async fn create_queue(client: &aws_sdk_sqs::Client, fifo: bool) -> String {
    let mut name = unique("kefu-jobs");
    let mut create = client.create_queue();
    if fifo {
        name.push_str(".fifo");
        create = create.attributes(QueueAttributeName::FifoQueue, "true");
    }
    create
        .queue_name(&name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create queue {name}: {}", describe(&e)))
        .queue_url
        .unwrap_or_else(|| panic!("create queue {name}: no queue URL in the answer"))
}

/// Creates an EventBridge bus whose rule sends every kefu event (`source` `kefu.…`) to a new
/// SQS queue, as the README's example does; returns the bus's name and the queue's URL.
///
/// # Panics
/// When the bus, the rule, the queue or the target cannot be created.
pub async fn create_event_bus_to_queue(
    eventbridge: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
) -> (String, String) {
    let bus = unique("kefu-events");
    eventbridge
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create event bus {bus}: {}", describe(&e)));
    let queue_url = create_queue(sqs, false).await;
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("queue ARN of {queue_url}: {}", describe(&e)))
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_else(|| panic!("queue ARN of {queue_url}: not in the answer"));
    let rule = format!("{bus}-all");
    eventbridge
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(r#"{"source": [{"prefix": "kefu."}]}"#)
        .send()
        .await
        .unwrap_or_else(|e| panic!("put rule {rule}: {}", describe(&e)));
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("queue")
        .arn(queue_arn)
        .build()
        .unwrap_or_else(|e| panic!("target: {e}"));
    eventbridge
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(target)
        .send()
        .await
        .unwrap_or_else(|e| panic!("put targets {rule}: {}", describe(&e)));
    (bus, queue_url)
}

/// The events a rule delivered to the queue at `queue_url`, as EventBridge wrote them
/// (`source`, `detail-type`, `detail`, …), received and deleted.
///
/// # Panics
/// When the queue cannot be read or a body is not JSON.
pub async fn take_events(client: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<serde_json::Value> {
    take_jobs(client, queue_url)
        .await
        .into_iter()
        .map(|(_, body)| {
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("an event, not {body}: {e}"))
        })
        .collect()
}

/// Every job on the queue as `(message id, body)`, received and deleted until a receive comes
/// back empty: what the event source mapping would hand the reply function.
///
/// # Panics
/// When SQS cannot be read or a message not deleted.
pub async fn take_jobs(client: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<(String, String)> {
    let mut jobs = Vec::new();
    loop {
        let messages = client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap_or_else(|e| panic!("receive from {queue_url}: {}", describe(&e)))
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            return jobs;
        }
        for message in messages {
            client
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle.unwrap_or_default())
                .send()
                .await
                .unwrap_or_else(|e| panic!("delete from {queue_url}: {}", describe(&e)));
            jobs.push((
                message.message_id.unwrap_or_default(),
                message.body.unwrap_or_default(),
            ));
        }
    }
}

/// A function's configuration from `pairs` (its environment, pointing at resources on moto).
///
/// # Panics
/// When the pairs are not a valid configuration.
pub fn function_config(pairs: &[(&str, String)]) -> kefu::config::Config {
    kefu::config::Config::from_lookup(|name| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.clone())
    })
    .unwrap_or_else(|e| panic!("configuration: {e}"))
}

/// Puts a `String` parameter (overwriting one of the same name).
///
/// # Panics
/// When the parameter cannot be put.
pub async fn put_parameter(client: &aws_sdk_ssm::Client, name: &str, value: &str) {
    put(client, name, value, ParameterType::String).await;
}

/// Puts a `SecureString` parameter (overwriting one of the same name), encrypted with the
/// default key, as the deployment's secrets are.
///
/// # Panics
/// When the parameter cannot be put.
pub async fn put_secure_parameter(client: &aws_sdk_ssm::Client, name: &str, value: &str) {
    put(client, name, value, ParameterType::SecureString).await;
}

async fn put(client: &aws_sdk_ssm::Client, name: &str, value: &str, kind: ParameterType) {
    client
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(kind.clone())
        .overwrite(true)
        .send()
        .await
        // The value is left out: it may be a secret.
        .unwrap_or_else(|e| panic!("put {kind:?} parameter {name}: {}", describe(&e)));
}

/// The SDK error with the service's message (its `Display` alone says "service error").
fn describe(err: &(impl std::error::Error + 'static)) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string()
}

/// One client per service, on the moto server.
#[derive(Debug, Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ssm: aws_sdk_ssm::Client,
}

/// The clients of [`sdk_config`], for tests whose crate names no AWS SDK crate.
///
/// # Panics
/// When `KEFU_TEST_AWS_ENDPOINT` is unset (see [`endpoint`]).
pub async fn clients() -> Clients {
    let sdk = sdk_config().await;
    Clients {
        dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
        sqs: aws_sdk_sqs::Client::new(&sdk),
        ssm: aws_sdk_ssm::Client::new(&sdk),
    }
}

/// A deployment's resources on moto, as `kefu dev --aws` reads them (table, queue, rules from
/// `rules_json`, the sample secrets), and the environment that points it at them.
pub async fn dev_stack_env(rules_json: &str) -> Vec<(&'static str, String)> {
    let clients = clients().await;
    let table = create_table(&clients.dynamodb).await;
    let queue = create_queue(&clients.sqs, false).await;
    let prefix = unique("/kefu-dev");
    put_parameter(&clients.ssm, &format!("{prefix}/rules/000"), rules_json).await;
    let push = serde_json::json!({"token": kefu::sample::TOKEN,
        "encoding_aes_key": kefu::sample::ENCODING_AES_KEY});
    let api = serde_json::json!({"app_secret": kefu::sample::APP_SECRET});
    for (name, value) in [("push", push), ("api", api)] {
        put_secure_parameter(
            &clients.ssm,
            &format!("{prefix}/secrets/{name}"),
            &value.to_string(),
        )
        .await;
    }
    vec![
        ("AWS_ENDPOINT_URL", endpoint()),
        ("KEFU_APPID", kefu::sample::APPID.to_owned()),
        ("KEFU_TABLE", table),
        ("KEFU_QUEUE_URL", queue),
        ("KEFU_RULES_PATH", format!("{prefix}/rules")),
        (
            "KEFU_PUSH_SECRETS_PARAMETER",
            format!("{prefix}/secrets/push"),
        ),
        (
            "KEFU_API_SECRETS_PARAMETER",
            format!("{prefix}/secrets/api"),
        ),
    ]
}
