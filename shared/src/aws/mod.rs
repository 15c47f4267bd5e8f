//! The AWS adapters: the only place `aws_sdk_*` types appear. Each file implements one port
//! (`ports.rs`) on one service, mirrored by `local/` at the same file name; SDK errors become
//! `PortError`s with the service's own message. Wiring them together is `compose::aws`'s job.
//!
//! The functions' clients are configured from their environment alone (`environment`: region,
//! the role's credentials, endpoints), the CLI's from the standard chain (environment,
//! profiles); either way `AWS_ENDPOINT_URL` points them at a local server such as moto.

pub mod apps;
pub mod budget;
mod environment;
pub mod events;
pub mod handoffs;
pub mod hook_answers;
mod hooks;
pub mod ledger;
pub mod media;
pub mod outbox;
pub mod questions;
pub mod queue;
pub mod quota;
pub mod rules;
pub mod secrets;
pub mod suggestions;
pub mod table;
pub mod tokens;

pub use apps::{AppParameter, NewApp, app_parameter};
pub use budget::ParameterBudget;
pub use events::EventBus;
pub use outbox::SqsOutbox;
pub use queue::{SqsConsumer, SqsQueue};
pub use rules::{Published, SsmRules};
pub use secrets::{Secrets, StoredSecrets, fetch_secrets, load_secrets};
pub use table::DynamoTable;

/// The SDK configuration and its service clients, built once per cold start.
#[derive(Debug, Clone)]
pub struct Aws {
    pub(crate) dynamodb: aws_sdk_dynamodb::Client,
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) ssm: aws_sdk_ssm::Client,
    pub(crate) eventbridge: aws_sdk_eventbridge::Client,
    /// The configuration's credentials, for the calls signed outside a client (Lambda hooks).
    pub(crate) credentials: Option<aws_credential_types::provider::SharedCredentialsProvider>,
}

impl Aws {
    /// The SDK configuration a Lambda function needs, from its environment alone
    /// (`environment`: the region, the role's credentials, the endpoints; the CLI keeps the
    /// default chain with its profiles, `AwsArgs::connect`), its HTTPS client trusting Amazon's
    /// roots only (`kefu::tls`): the functions speak to AWS alone.
    pub async fn connect() -> Self {
        let http = crate::tls::aws_http_client(crate::tls::AwsRoots::Amazon);
        Self::from_config(&environment::sdk_config(http))
    }

    /// The clients of a configuration already loaded (tests point one at moto).
    pub fn from_config(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            ssm: aws_sdk_ssm::Client::new(sdk),
            eventbridge: aws_sdk_eventbridge::Client::new(sdk),
            credentials: sdk.credentials_provider(),
        }
    }

    /// The same clients, Parameter Store's bounded by `budget` (each request takes a token; none
    /// left: the request fails at once).
    pub fn with_parameter_budget(&self, budget: ParameterBudget) -> Self {
        let ssm = self.ssm.config().to_builder().interceptor(budget).build();
        Self {
            ssm: aws_sdk_ssm::Client::from_conf(ssm),
            ..self.clone()
        }
    }

    /// The table every store port lives on.
    pub fn table(&self, name: &str) -> DynamoTable {
        DynamoTable::new(self.dynamodb.clone(), name)
    }

    /// The EventBridge bus kefu's events go to (`KEFU_EVENT_BUS`).
    pub fn event_bus(&self, bus: &str) -> EventBus {
        EventBus::new(self.eventbridge.clone(), bus)
    }

    /// The queue of reply jobs, for `receive`.
    pub fn queue(&self, url: &str) -> SqsQueue {
        SqsQueue::new(self.sqs.clone(), url)
    }

    /// The outbox queue at `url`, as a producer writes to it (`kefu send`).
    pub fn outbox(&self, url: &str) -> SqsOutbox {
        SqsOutbox::new(self.sqs.clone(), url)
    }

    /// The queue of reply jobs, read as the event source mapping reads it (`kefu dev --aws`).
    pub fn consumer(&self, url: &str) -> SqsConsumer {
        SqsConsumer::new(self.sqs.clone(), url)
    }

    /// The rules under a Parameter Store path (read by the functions, written by `kefu rules`).
    pub fn rules(&self, path: &str) -> SsmRules {
        SsmRules::new(self.ssm.clone(), path)
    }

    /// The rules at `path`, or the stack's starting set at `starter` while there are none.
    pub fn rules_or_starter(&self, path: &str, starter: Option<&str>) -> SsmRules {
        self.rules(path).with_starter(starter.map(str::to_owned))
    }

    /// The deployment's secrets, from their SecureString parameter.
    pub async fn secrets(&self, parameter: &str) -> Result<Secrets, crate::ports::PortError> {
        load_secrets(&self.ssm, parameter).await
    }

    /// The secrets parameter as stored, unparsed (`kefu doctor` tells what is wrong with it),
    /// or none if the parameter does not exist.
    pub async fn stored_secrets_if_any(
        &self,
        parameter: &str,
    ) -> Result<Option<StoredSecrets>, crate::ports::PortError> {
        secrets::fetch_if_any(&self.ssm, parameter).await
    }
}

/// Every parameter under `path`, recursively, all pages; values decrypted only if `decrypt`.
/// `operation` names the call in an error. (Names alone: [`parameter_names_under`].)
async fn parameters_under(
    ssm: &aws_sdk_ssm::Client,
    path: &str,
    decrypt: bool,
    operation: &'static str,
) -> Result<Vec<aws_sdk_ssm::types::Parameter>, crate::ports::PortError> {
    let mut parameters = Vec::new();
    let mut pages = ssm
        .get_parameters_by_path()
        .path(path)
        .recursive(true)
        .with_decryption(decrypt)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| crate::ports::PortError::new(operation, describe(&err)))?;
        parameters.extend(page.parameters.unwrap_or_default());
    }
    Ok(parameters)
}

/// The name of every parameter under `path`, recursively, all pages (50 names a request), from
/// DescribeParameters: metadata only. Unlike GetParametersByPath, which returns the values (and
/// with a grant on the path, every value under it, decrypted on request), it can never hand a
/// secret to the function that lists: receive lists the apps without being able to read any
/// AppSecret under the same path.
async fn parameter_names_under(
    ssm: &aws_sdk_ssm::Client,
    path: &str,
    operation: &'static str,
) -> Result<Vec<String>, crate::ports::PortError> {
    let filter = aws_sdk_ssm::types::ParameterStringFilter::builder()
        .key("Path")
        .option("Recursive")
        .values(path)
        .build()
        .map_err(|err| crate::ports::PortError::new(operation, err))?;
    let mut names = Vec::new();
    let mut pages = ssm
        .describe_parameters()
        .parameter_filters(filter)
        .max_results(50)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| crate::ports::PortError::new(operation, describe(&err)))?;
        names.extend(
            page.parameters
                .unwrap_or_default()
                .into_iter()
                .filter_map(|parameter| parameter.name),
        );
    }
    Ok(names)
}

/// The full error text, service message included (the SDK's `Display` alone says only
/// "service error").
fn describe(err: &(impl std::error::Error + 'static)) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string()
}

impl Aws {
    /// Opens, during a cold start, the connections the first invocation would otherwise open
    /// (DNS, TCP and TLS to DynamoDB, and to SQS when `queue_url` is given): one cheap request
    /// each, an eventually consistent GetItem of an item that never exists and the queue's ARN.
    /// A failure is only logged: the first real request connects as it would have anyway.
    pub async fn open_connections(&self, table: &str, queue_url: Option<&str>) {
        let dynamodb = async {
            self.dynamodb
                .get_item()
                .table_name(table)
                .key("pk", table::s("connect"))
                .key("sk", table::s("connect"))
                .send()
                .await
                .map(drop)
                .map_err(|err| describe(&err))
        };
        let sqs = async {
            let Some(url) = queue_url else {
                return Ok(());
            };
            self.sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .send()
                .await
                .map(drop)
                .map_err(|err| describe(&err))
        };
        let (dynamodb, sqs) = tokio::join!(dynamodb, sqs);
        for (service, outcome) in [("DynamoDB", dynamodb), ("SQS", sqs)] {
            if let Err(reason) = outcome {
                tracing::warn!(service, %reason, "connection not opened at start");
            }
        }
    }
}
