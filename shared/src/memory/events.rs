//! Events in memory (`kefu dev` prints them, tests read them), with an on/off switch to play an
//! EventBridge outage; and the publisher that is off.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::events::Event;
use crate::ports::{EventPublisher, PortError};

/// The events published, kept in order; each is also sent to the subscribers.
#[derive(Debug)]
pub struct MemoryEvents {
    events: Mutex<Vec<Event>>,
    available: AtomicBool,
    calls: AtomicUsize,
    published: broadcast::Sender<Event>,
}

impl Default for MemoryEvents {
    fn default() -> Self {
        Self {
            events: Mutex::new(Vec::new()),
            available: AtomicBool::new(true),
            calls: AtomicUsize::new(0),
            published: broadcast::channel(256).0,
        }
    }
}

impl MemoryEvents {
    pub fn new() -> Self {
        Self::default()
    }

    /// While unavailable, every publish fails as an EventBridge outage would.
    pub fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::SeqCst);
    }

    /// How many publish calls were made (each would be one PutEvents per 10 events).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Every event published so far, oldest first.
    pub fn published(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The events published from now on (`kefu dev` prints them); a slow reader misses the
    /// oldest, never blocks a publisher.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.published.subscribe()
    }
}

#[async_trait]
impl EventPublisher for MemoryEvents {
    async fn publish(&self, events: &[Event]) -> Result<(), PortError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if !self.available.load(Ordering::SeqCst) {
            return Err(PortError::new(
                "publish events",
                format!(
                    "{} events not published: event bus unavailable",
                    events.len()
                ),
            ));
        }
        let mut kept = self.events.lock().unwrap_or_else(|p| p.into_inner());
        for event in events {
            kept.push(event.clone());
            // No subscriber is fine.
            let _ = self.published.send(event.clone());
        }
        Ok(())
    }
}

/// Events off (no `KEFU_EVENT_BUS`): nothing is built, claimed or published.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

#[async_trait]
impl EventPublisher for NoEvents {
    async fn publish(&self, _events: &[Event]) -> Result<(), PortError> {
        Ok(())
    }

    fn is_on(&self) -> bool {
        false
    }
}
