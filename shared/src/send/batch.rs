//! One SQS batch: jobs grouped by user (of an app) and run concurrently by their app's sender,
//! one user's jobs in order; the records SQS should retry are returned (a partial batch
//! response).

use std::collections::HashMap;
use std::sync::Arc;

use super::Sender;
use crate::apps::Apps;
use crate::job::Job;
use crate::metrics;

impl Sender {
    /// Runs one SQS batch of this sender's app (see [`run_batch`]).
    pub async fn run_batch(
        self: &Arc<Self>,
        records: Vec<(String, String)>,
        deadline: i64,
    ) -> Vec<String> {
        let apps = Apps::single(&self.appid, Arc::clone(self), self.deps.clock.clone());
        run_batch(&Arc::new(apps), records, deadline).await
    }
}

/// Runs the records (`(message id, body)`) of one SQS batch, each by the sender of its job's
/// app, and returns the ids of those to retry. Records run concurrently, but one user's jobs
/// run in order; after a user's job fails, that user's later jobs in the batch are left for
/// the retry too, so their order holds. No send starts that could not finish before `deadline`
/// (ms since the epoch: the invocation's, from the Lambda context).
///
/// A job for an app the deployment no longer serves (neither of its secrets parameters is
/// there) is dropped and counted (`job_dropped_unknown_app`); if the app could not be looked up,
/// or is being added (its push secrets there, its AppSecret not yet), it is retried.
///
/// A job that panics has its records retried, and the other users' jobs finish: the release
/// profile unwinds (`panic = "unwind"`) so that this holds in the deployed binary.
pub async fn run_batch(
    apps: &Arc<Apps<Sender>>,
    records: Vec<(String, String)>,
    deadline: i64,
) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    // Which records each task holds, so a task that panics has them all retried.
    let mut held = HashMap::new();
    for (appid, jobs) in by_user(records) {
        let apps = Arc::clone(apps);
        let ids: Vec<String> = jobs.iter().map(|(id, _)| id.clone()).collect();
        let task = tasks.spawn(async move {
            let mut failed = Vec::new();
            for (id, body) in jobs {
                if !failed.is_empty() {
                    failed.push(id);
                    continue;
                }
                let sender = match apps.get(appid.as_deref()).await {
                    Ok(Some(sender)) => sender,
                    Ok(None) => {
                        match &appid {
                            Some(appid) => {
                                tracing::warn!(message_id = %id, appid = %appid,
                                    "job for an app this deployment does not serve: dropped");
                                metrics::count("job_dropped_unknown_app");
                            }
                            None => {
                                tracing::warn!(message_id = %id, "job dropped: not a job");
                                metrics::count("job_dropped");
                            }
                        }
                        continue;
                    }
                    Err(err) => {
                        tracing::warn!(message_id = %id, reason = %err, "app lookup failed; job will be retried");
                        metrics::count("job_retried");
                        failed.push(id);
                        continue;
                    }
                };
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

/// A group of one user's records, in arrival order, with the app they belong to.
type Group = (Option<String>, Vec<(String, String)>);

/// The records grouped by the user (of an app) they answer, in arrival order within a user. A
/// body that is not a job is a group of its own, run by the default app's sender (which drops
/// it, counted).
fn by_user(records: Vec<(String, String)>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<(Option<String>, String), usize> = HashMap::new();
    for (id, body) in records {
        let user = match Job::from_json(&body) {
            Ok(job) => (Some(job.appid), job.openid),
            Err(_) => (None, format!("?{id}")),
        };
        let appid = user.0.clone();
        let slot = *index.entry(user).or_insert_with(|| {
            groups.push((appid, Vec::new()));
            groups.len() - 1
        });
        if let Some((_, jobs)) = groups.get_mut(slot) {
            jobs.push((id, body));
        }
    }
    groups
}
