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
    let records = records
        .into_iter()
        .map(|(id, body)| {
            let body = match Job::from_json(&body) {
                Ok(job) => Body::Job(Box::new(job)),
                Err(_) => Body::Unread(body),
            };
            (id, body)
        })
        .collect();
    run(apps, records, deadline).await
}

/// [`run_batch`] for jobs already read (`kefu dev`'s queue holds jobs, not bodies), each with
/// its record id.
pub async fn run_jobs(
    apps: &Arc<Apps<Sender>>,
    jobs: Vec<(String, Job)>,
    deadline: i64,
) -> Vec<String> {
    let records = jobs
        .into_iter()
        .map(|(id, job)| (id, Body::Job(Box::new(job))))
        .collect();
    run(apps, records, deadline).await
}

/// A record's body, read once.
enum Body {
    Job(Box<Job>),
    /// Not a job this build can read: its app's sender drops it, counted, with the reason.
    Unread(String),
}

async fn run(apps: &Arc<Apps<Sender>>, records: Vec<(String, Body)>, deadline: i64) -> Vec<String> {
    let groups = by_user(records, |(id, body)| match body {
        Body::Job(job) => (Some(job.appid.clone()), job.openid.to_string()),
        Body::Unread(_) => (None, format!("?{id}")),
    });
    let apps = Arc::clone(apps);
    in_user_order(groups, |(id, _)| id.clone(), move |appid, (id, body)| {
        let apps = Arc::clone(&apps);
        async move {
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
                    return Ok(());
                }
                Err(err) => {
                    tracing::warn!(message_id = %id, reason = %err, "app lookup failed; job will be retried");
                    metrics::count("job_retried");
                    return Err(());
                }
            };
            let ran = match body {
                Body::Job(job) => sender.run_job(*job, deadline).await,
                Body::Unread(body) => sender.run(&body, deadline).await,
            };
            if let Err(err) = ran {
                tracing::warn!(message_id = %id, reason = %err, "job will be retried");
                metrics::count("job_retried");
                return Err(());
            }
            Ok(())
        }
    })
    .await
}

/// Runs `groups` (one user's records each, with their app), the groups concurrently and each
/// group's records in order, and returns the ids (`id`) of the records SQS should retry: those
/// `run` fails, and every later record of the same group, so one user's order holds; all the
/// records of a group whose task panics. Reply jobs and outbox commands both run this way.
pub(super) async fn in_user_order<R, F, Fut>(
    groups: Vec<(Option<String>, Vec<R>)>,
    id: fn(&R) -> String,
    run: F,
) -> Vec<String>
where
    R: Send + 'static,
    F: Fn(Option<String>, R) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ()>> + Send,
{
    let mut tasks = tokio::task::JoinSet::new();
    // Which records each task holds, so a task that panics has them all retried.
    let mut held = HashMap::new();
    for (appid, records) in groups {
        let run = run.clone();
        let ids: Vec<String> = records.iter().map(id).collect();
        let task = tasks.spawn(async move {
            let mut failed = Vec::new();
            for record in records {
                if !failed.is_empty() {
                    failed.push(id(&record));
                    continue;
                }
                let record_id = id(&record);
                if run(appid.clone(), record).await.is_err() {
                    failed.push(record_id);
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

/// The records grouped by the user (of an app) `user` says each is for, in arrival order
/// within a user. A record that cannot be read names a user of its own, without an app.
pub(super) fn by_user<R>(
    records: Vec<R>,
    user: impl Fn(&R) -> (Option<String>, String),
) -> Vec<(Option<String>, Vec<R>)> {
    let mut groups: Vec<(Option<String>, Vec<R>)> = Vec::new();
    let mut index: HashMap<(Option<String>, String), usize> = HashMap::new();
    for record in records {
        let user = user(&record);
        let appid = user.0.clone();
        let slot = *index.entry(user).or_insert_with(|| {
            groups.push((appid, Vec::new()));
            groups.len() - 1
        });
        if let Some((_, members)) = groups.get_mut(slot) {
            members.push(record);
        }
    }
    groups
}
