//! The SQS queue of reply jobs. On a FIFO queue (URL ending in `.fifo`) each user is a message
//! group, so one user's messages are replied to in order, and the push's key deduplicates.

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
                .message_group_id(&job.openid)
                .message_deduplication_id(dedup);
        }
        send.send()
            .await
            .map_err(|err| PortError::new("enqueue job", describe(&err)))?;
        Ok(())
    }
}
