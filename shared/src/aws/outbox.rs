//! The outbox queue, from the producer's side: a business system (or `kefu send`) puts one
//! command (`crate::outbox::Command`) on it with one `SendMessage` — all the managed policy in
//! the stack's outputs allows. The reply function drains it as its second event source.

use aws_sdk_sqs::Client;

use super::describe;
use crate::outbox::Command;
use crate::ports::PortError;

#[derive(Debug, Clone)]
pub struct SqsOutbox {
    client: Client,
    url: String,
}

impl SqsOutbox {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// Puts `command` on the queue; returns SQS's message id.
    pub async fn send(&self, command: &Command) -> Result<String, PortError> {
        let out = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(command.to_json())
            .send()
            .await
            .map_err(|err| PortError::new("send outbox command", describe(&err)))?;
        Ok(out.message_id.unwrap_or_default())
    }
}
