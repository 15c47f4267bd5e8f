//! The SQS queue of reply jobs: `JobQueue` (what `receive` enqueues) and the consumer side that
//! `kefu dev --aws` long-polls as the `reply` function's event source mapping would. On a FIFO
//! queue (URL ending in `.fifo`) each user is a message group, so one user's messages are
//! replied to in order, and the push's key deduplicates.

use async_trait::async_trait;
use aws_sdk_sqs::Client;

use super::describe;
use crate::job::Job;
use crate::ports::{JobQueue, PortError};

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn enqueue(&self, job: &Job) -> Result<(), PortError> {
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(job.to_json());
        if self.url.ends_with(".fifo") {
            // Deduplication ids are at most 128 characters; the key's hash is shorter.
            let dedup = hex::encode(<sha1::Sha1 as sha1::Digest>::digest(job.key.as_bytes()));
            send = send
                .message_group_id(job.openid.as_str())
                .message_deduplication_id(dedup);
        }
        send.send()
            .await
            .map_err(|err| PortError::new("enqueue job", describe(&err)))?;
        Ok(())
    }
}

/// One message taken off the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub message_id: String,
    pub body: String,
    /// Deletes this receive of the message (`SqsConsumer::delete`).
    pub receipt: String,
}

/// Reads the queue as the event source mapping does: long polls, batches of up to 10, and a
/// message deleted only once it succeeded (the rest come back after the visibility timeout).
#[derive(Debug, Clone)]
pub struct SqsConsumer {
    client: Client,
    url: String,
}

impl SqsConsumer {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// Up to `max` messages, waiting up to `wait_seconds` for the first.
    pub async fn receive(&self, max: i32, wait_seconds: i32) -> Result<Vec<Received>, PortError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max)
            .wait_time_seconds(wait_seconds)
            .send()
            .await
            .map_err(|err| PortError::new("receive jobs", describe(&err)))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                Some(Received {
                    message_id: m.message_id?,
                    body: m.body?,
                    receipt: m.receipt_handle?,
                })
            })
            .collect())
    }

    /// Deletes a message that was handled.
    pub async fn delete(&self, receipt: &str) -> Result<(), PortError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|err| PortError::new("delete job", describe(&err)))?;
        Ok(())
    }
}
