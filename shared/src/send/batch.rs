//! One SQS batch: jobs grouped by user and run concurrently, one user's jobs in order; the
//! records SQS should retry are returned (a partial batch response).

use std::collections::HashMap;
use std::sync::Arc;

use super::Sender;
use crate::job::Job;
use crate::metrics;

impl Sender {
    /// Runs the records (`(message id, body)`) of one SQS batch and returns the ids of those to
    /// retry. Records run concurrently, but one user's jobs run in order; after a user's job
    /// fails, that user's later jobs in the batch are left for the retry too, so their order
    /// holds. No send starts that could not finish before `deadline` (ms since the epoch: the
    /// invocation's, from the Lambda context).
    ///
    /// A job that panics has its records retried, and the other users' jobs finish: the
    /// release profile unwinds (`panic = "unwind"`) so that this holds in the deployed binary.
    pub async fn run_batch(
        self: &Arc<Self>,
        records: Vec<(String, String)>,
        deadline: i64,
    ) -> Vec<String> {
        let mut tasks = tokio::task::JoinSet::new();
        // Which records each task holds, so a task that panics has them all retried.
        let mut held = HashMap::new();
        for jobs in by_user(records) {
            let sender = Arc::clone(self);
            let ids: Vec<String> = jobs.iter().map(|(id, _)| id.clone()).collect();
            let task = tasks.spawn(async move {
                let mut failed = Vec::new();
                for (id, body) in jobs {
                    if !failed.is_empty() {
                        failed.push(id);
                        continue;
                    }
                    if let Err(err) = sender.run(&body, deadline).await {
                        tracing::warn!(message_id = %id, reason = %err, "job will be retried");
                        metrics::count("job_retried");
                        failed.push(id);
                    }
                }
                failed
            });
            held.insert(task.id(), ids);
        }
        let mut failures = Vec::new();
        while let Some(result) = tasks.join_next_with_id().await {
            match result {
                Ok((_, failed)) => failures.extend(failed),
                Err(err) => {
                    tracing::error!(reason = %err, "a batch task panicked; its records will be retried");
                    failures.extend(held.remove(&err.id()).unwrap_or_default());
                }
            }
        }
        failures
    }
}

/// The records grouped by the user they answer, in arrival order within a user. A body that
/// is not a job is a group of its own (it is dropped when run).
fn by_user(records: Vec<(String, String)>) -> Vec<Vec<(String, String)>> {
    let mut groups: Vec<Vec<(String, String)>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (id, body) in records {
        let user = Job::from_json(&body)
            .map(|j| j.openid)
            .unwrap_or_else(|_| format!("?{id}"));
        let slot = *index.entry(user).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        if let Some(jobs) = groups.get_mut(slot) {
            jobs.push((id, body));
        }
    }
    groups
}
