//! The reply function's side of `kefu dev`: jobs taken off the queue in batches and run by the
//! send core. On the in-memory queue, failed jobs come back after a pause, at most 3 receives
//! each (as a redrive policy would); on SQS, the queue is long-polled as the event source
//! mapping does and only what succeeded is deleted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kefu::apps::Apps;
use kefu::aws::SqsConsumer;
use kefu::clock::{SystemClock, millis};
use kefu::job::Job;
use kefu::memory::MemoryQueue;
use kefu::ports::Clock as _;
use kefu::ports::JobQueue as _;
use kefu::protocol::{Event, MessageKind};
use kefu::send::budget::FUNCTION_TIMEOUT;
use kefu::send::{Sender, run_batch, run_jobs};
use kefu_sandbox::Sandbox;

/// SQS would redeliver a failed job after its visibility timeout; the dev queue waits this long.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// Then gives up, as a redrive policy would send it to the DLQ.
const MAX_RECEIVES: u32 = 3;
/// SQS's largest batch.
const BATCH: usize = 10;

/// The in-memory queue: batches of up to 10, failed jobs retried after a pause, at most 3
/// receives each.
pub(super) async fn run_in_memory(
    queue: Arc<MemoryQueue>,
    senders: Arc<Apps<Sender>>,
    sandbox: Sandbox,
    tell_sandbox: bool,
) {
    let mut receives: HashMap<String, u32> = HashMap::new();
    loop {
        queue.wait_for_job().await;
        let mut records = Vec::new();
        for job in queue.take(BATCH) {
            if tell_sandbox {
                open_sandbox_window(&sandbox, &job);
            }
            records.push((job.key.clone(), job));
        }
        let failed = run_jobs(&senders, records.clone(), deadline()).await;
        for (key, job) in records.into_iter().filter(|(key, _)| failed.contains(key)) {
            let count = receives.entry(key.clone()).or_insert(1);
            if *count >= MAX_RECEIVES {
                eprintln!(
                    "  ✗ {key}: failed {MAX_RECEIVES} times; dropped (a deployment would move it to the DLQ)"
                );
                continue;
            }
            *count += 1;
            let queue = queue.clone();
            tokio::spawn(async move {
                tokio::time::sleep(RETRY_AFTER).await;
                let _ = queue.enqueue(&job).await;
            });
        }
    }
}

/// SQS, as the reply function's event source mapping reads it: long polls, run the batch,
/// delete what succeeded; failures stay for SQS to redeliver (and move to the DLQ after the
/// redrive limit).
pub(super) async fn poll_sqs(
    consumer: SqsConsumer,
    senders: Arc<Apps<Sender>>,
    sandbox: Sandbox,
    tell_sandbox: bool,
) {
    loop {
        let messages = match consumer.receive(BATCH as i32, 2).await {
            Ok(messages) => messages,
            Err(err) => {
                eprintln!("  ✗ SQS: {err}");
                tokio::time::sleep(RETRY_AFTER).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let mut records = Vec::new();
        let mut receipts = HashMap::new();
        for message in messages {
            if tell_sandbox && let Ok(job) = Job::from_json(&message.body) {
                open_sandbox_window(&sandbox, &job);
            }
            receipts.insert(message.message_id.clone(), message.receipt);
            records.push((message.message_id, message.body));
        }
        let failed = run_batch(&senders, records, deadline()).await;
        for (id, receipt) in receipts {
            if failed.contains(&id) {
                continue;
            }
            if let Err(err) = consumer.delete(&receipt).await {
                eprintln!("  ✗ SQS: {err}");
            }
        }
    }
}

/// An invocation's deadline, as the deployed function gets it: its timeout from now.
fn deadline() -> i64 {
    SystemClock
        .now_millis()
        .saturating_add(millis(FUNCTION_TIMEOUT))
}

/// WeChat knows the user wrote before the push reaches us: open the sandbox's send window.
fn open_sandbox_window(sandbox: &Sandbox, job: &Job) {
    match &job.message.kind {
        MessageKind::Event(Event::UserEnterTempsession { .. }) => {
            sandbox.user_entered_in(&job.appid, job.openid.as_str());
        }
        MessageKind::Event(_) => {}
        _ => sandbox.user_message_in(&job.appid, job.openid.as_str()),
    }
}
