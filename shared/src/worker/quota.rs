//! WeChat's send quota, as a pure state machine that the stores apply.
//!
//! After each user message a server may send 5 messages within 48 hours; the next user message
//! restores the 5 and restarts the clock (unused sends do not carry over). After
//! user_enter_tempsession it may send 2 within a minute. A send is taken from the enter window
//! first (it closes sooner), then from the message window, as the sandbox does. Sends beyond this are refused by WeChat with 45047
//! (or 45015 outside any window); the worker skips them instead.

use crate::ports::QuotaWindow;

pub const MESSAGE_WINDOW_MS: i64 = 48 * 3600 * 1000;
pub const MESSAGE_WINDOW_SENDS: u32 = 5;
pub const ENTER_WINDOW_MS: i64 = 60 * 1000;
pub const ENTER_WINDOW_SENDS: u32 = 2;

/// One user's windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaState {
    pub message_at: Option<i64>,
    pub message_sent: u32,
    pub enter_at: Option<i64>,
    pub enter_sent: u32,
}

impl QuotaState {
    /// Opens `window` at `at` unless it was already opened then or later (a redelivery).
    pub fn open(&mut self, window: QuotaWindow, at: i64) -> bool {
        let (opened, sent) = match window {
            QuotaWindow::Message => (&mut self.message_at, &mut self.message_sent),
            QuotaWindow::Enter => (&mut self.enter_at, &mut self.enter_sent),
        };
        if opened.is_some_and(|previous| previous >= at) {
            return false;
        }
        *opened = Some(at);
        *sent = 0;
        true
    }

    /// Which window has room at `now`, if any (the enter window first).
    pub fn available(&self, now: i64) -> Option<QuotaWindow> {
        // A window opened "in the future" (another instance's clock runs ahead) counts as open.
        let live = |opened: Option<i64>, length: i64| {
            opened.is_some_and(|at| now < at.saturating_add(length))
        };
        if live(self.enter_at, ENTER_WINDOW_MS) && self.enter_sent < ENTER_WINDOW_SENDS {
            Some(QuotaWindow::Enter)
        } else if live(self.message_at, MESSAGE_WINDOW_MS)
            && self.message_sent < MESSAGE_WINDOW_SENDS
        {
            Some(QuotaWindow::Message)
        } else {
            None
        }
    }

    /// Takes one send at `now`, if a window has room.
    pub fn reserve(&mut self, now: i64) -> Option<QuotaWindow> {
        let window = self.available(now)?;
        match window {
            QuotaWindow::Message => self.message_sent += 1,
            QuotaWindow::Enter => self.enter_sent += 1,
        }
        Some(window)
    }

    pub fn refund(&mut self, window: QuotaWindow) {
        match window {
            QuotaWindow::Message => self.message_sent = self.message_sent.saturating_sub(1),
            QuotaWindow::Enter => self.enter_sent = self.enter_sent.saturating_sub(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_714_112_445_000;

    #[test]
    fn five_sends_after_a_message_then_none() {
        let mut q = QuotaState::default();
        assert_eq!(q.reserve(T), None, "no window before the user writes");
        q.open(QuotaWindow::Message, T);
        for _ in 0..5 {
            assert_eq!(q.reserve(T + 1), Some(QuotaWindow::Message));
        }
        assert_eq!(q.reserve(T + 2), None, "a sixth send is refused");
    }

    #[test]
    fn the_next_message_restores_the_quota_and_a_redelivery_does_not() {
        let mut q = QuotaState::default();
        q.open(QuotaWindow::Message, T);
        for _ in 0..5 {
            q.reserve(T);
        }
        assert!(!q.open(QuotaWindow::Message, T), "same job again");
        assert_eq!(q.reserve(T), None);
        assert!(q.open(QuotaWindow::Message, T + 10));
        assert_eq!(q.reserve(T + 10), Some(QuotaWindow::Message));
    }

    #[test]
    fn the_message_window_closes_after_48_hours() {
        let mut q = QuotaState::default();
        q.open(QuotaWindow::Message, T);
        assert_eq!(
            q.reserve(T + MESSAGE_WINDOW_MS - 1),
            Some(QuotaWindow::Message)
        );
        assert_eq!(q.reserve(T + MESSAGE_WINDOW_MS), None);
    }

    #[test]
    fn entering_the_session_allows_two_sends_in_a_minute() {
        let mut q = QuotaState::default();
        q.open(QuotaWindow::Enter, T);
        assert_eq!(q.reserve(T), Some(QuotaWindow::Enter));
        assert_eq!(q.reserve(T + 1), Some(QuotaWindow::Enter));
        assert_eq!(q.reserve(T + 2), None);
        q.refund(QuotaWindow::Enter);
        assert_eq!(q.reserve(T + 3), Some(QuotaWindow::Enter));
        assert_eq!(q.reserve(T + ENTER_WINDOW_MS), None, "the minute is over");
    }
}
