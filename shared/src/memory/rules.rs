//! Rules from memory or from a local JSON file (re-read on every load, so edits show up as soon
//! as the cache's TTL runs out).

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::ports::{PortError, RuleSource};
use crate::rules::RuleSet;

#[derive(Debug)]
enum Origin {
    Memory(Mutex<Result<RuleSet, PortError>>),
    File(PathBuf),
}

#[derive(Debug)]
pub struct StaticRules {
    origin: Origin,
    loads: AtomicUsize,
}

impl StaticRules {
    pub fn new(rules: RuleSet) -> Self {
        Self {
            origin: Origin::Memory(Mutex::new(Ok(rules))),
            loads: AtomicUsize::new(0),
        }
    }

    pub fn from_file(path: impl Into<PathBuf>) -> Self {
        Self {
            origin: Origin::File(path.into()),
            loads: AtomicUsize::new(0),
        }
    }

    /// Replaces the in-memory rules, or makes the next loads fail (for outage tests).
    pub fn set(&self, rules: Result<RuleSet, PortError>) {
        if let Origin::Memory(current) = &self.origin {
            *current.lock().unwrap_or_else(|p| p.into_inner()) = rules;
        }
    }

    /// How many times the rules were loaded (each would be one Parameter Store call).
    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl RuleSource for StaticRules {
    async fn load(&self) -> Result<RuleSet, PortError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        match &self.origin {
            Origin::Memory(rules) => rules.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            Origin::File(path) => {
                let json = tokio::fs::read_to_string(path).await.map_err(|e| {
                    PortError::new("read rules file", format!("{}: {e}", path.display()))
                })?;
                RuleSet::from_json(&json).map_err(|e| PortError::new("parse rules file", e))
            }
        }
    }
}
