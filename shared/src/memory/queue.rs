//! The job queue in memory, with an on/off switch to play an SQS outage.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::job::Job;
use crate::ports::{JobQueue, PortError};

#[derive(Debug)]
pub struct MemoryQueue {
    jobs: Mutex<VecDeque<Job>>,
    available: AtomicBool,
    calls: AtomicUsize,
    arrived: Notify,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        Self {
            jobs: Mutex::new(VecDeque::new()),
            available: AtomicBool::new(true),
            calls: AtomicUsize::new(0),
            arrived: Notify::new(),
        }
    }
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// While unavailable, every enqueue fails as an SQS outage would.
    pub fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::SeqCst);
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The jobs waiting, oldest first.
    pub fn pending(&self) -> Vec<Job> {
        self.lock().iter().cloned().collect()
    }

    /// Takes up to `max` jobs, oldest first.
    pub fn take(&self, max: usize) -> Vec<Job> {
        let mut jobs = self.lock();
        let n = max.min(jobs.len());
        jobs.drain(..n).collect()
    }

    /// Waits until a job is enqueued (returns at once if one is waiting).
    pub async fn wait_for_job(&self) {
        loop {
            let notified = self.arrived.notified();
            if !self.lock().is_empty() {
                return;
            }
            notified.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Job>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    async fn enqueue(&self, job: &Job) -> Result<(), PortError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if !self.available.load(Ordering::SeqCst) {
            return Err(PortError::new("enqueue", "queue unavailable"));
        }
        self.lock().push_back(job.clone());
        self.arrived.notify_waiters();
        Ok(())
    }
}
