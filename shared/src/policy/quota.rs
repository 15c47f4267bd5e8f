//! WeChat's send quota, pure: which window a user's action opens, how long each lasts and how
//! many sends it allows, and the order windows are spent in.
//!
//! After each user message a server may send 5 messages within 48 hours; after
//! user_enter_tempsession, 2 within a minute. The allowance does not accumulate
//! (「可发送客服消息条数不累加」, docs/wechat-protocol.md §7): each such action restores the count
//! to that action's maximum and restarts its clock, and a send counts against every window, so
//! a message and then an enter-session allow 5 sends in all, not 5 + 2. A send is allowed while
//! some open window has counted fewer sends (since it opened) than its limit; the sandbox
//! applies the same rule on its own. Sends beyond this are refused by WeChat with 45047 (or
//! 45015 outside any window); the send core skips them instead.
//!
//! What is shared and what is not: [`QuotaState`] is the whole definition, and the in-memory
//! store applies it as is. The DynamoDB store cannot run Rust inside a conditional write, so it
//! writes the same rules as condition expressions, taking every number from here ([`length`],
//! [`limit`], "open" as `opened > now - length`, and a window's count as the set of the
//! reservations made since it opened); the quota scenarios in `tests/tests/dynamodb_stores.rs`
//! run on both stores.

use crate::ports::{QuotaWindow, QuotaWindows};
use crate::protocol::{Event, Message, MessageKind};

pub const MESSAGE_WINDOW_MS: i64 = 48 * 3600 * 1000;
pub const MESSAGE_WINDOW_SENDS: u32 = 5;
pub const ENTER_WINDOW_MS: i64 = 60 * 1000;
pub const ENTER_WINDOW_SENDS: u32 = 2;

/// Both windows. A send is counted in each.
pub const WINDOWS: [QuotaWindow; 2] = [QuotaWindow::Enter, QuotaWindow::Message];

/// How long a window stays open, in ms.
pub fn length(window: QuotaWindow) -> i64 {
    match window {
        QuotaWindow::Message => MESSAGE_WINDOW_MS,
        QuotaWindow::Enter => ENTER_WINDOW_MS,
    }
}

/// How many sends a window allows.
pub fn limit(window: QuotaWindow) -> u32 {
    match window {
        QuotaWindow::Message => MESSAGE_WINDOW_SENDS,
        QuotaWindow::Enter => ENTER_WINDOW_SENDS,
    }
}

/// How far ahead of the clock a stored window may have opened (other instances' clocks) before
/// it is taken for a poisoned one.
pub const MAX_AHEAD: i64 = 5 * 60 * 1000;

/// The window a push opens, and when (ms): when the user acted, as WeChat stamped it — the same
/// for every retry and redelivery of this push, so none of them can reset the count. Events
/// other than entering the session open none.
pub fn opened_by(message: &Message, now: i64) -> Option<(QuotaWindow, i64)> {
    // Never later than now: a CreateTime ahead of the clock cannot hold a window open.
    let acted_at = message.create_time.saturating_mul(1000).min(now);
    match &message.kind {
        MessageKind::Event(Event::UserEnterTempsession { .. }) => {
            Some((QuotaWindow::Enter, acted_at))
        }
        MessageKind::Event(_) => None,
        _ => Some((QuotaWindow::Message, acted_at)),
    }
}

/// One user's windows. A window's sends are the reservations it holds, each by name, so
/// that a repeated reservation (the same name) takes nothing more and a refund gives back
/// exactly that one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuotaState {
    pub message_at: Option<i64>,
    /// The pushes that opened the window at `message_at` (several can share one CreateTime).
    pub message_openers: Vec<String>,
    pub message_sends: Vec<String>,
    pub enter_at: Option<i64>,
    pub enter_openers: Vec<String>,
    pub enter_sends: Vec<String>,
}

impl QuotaState {
    fn window(&self, window: QuotaWindow) -> (Option<i64>, &[String]) {
        match window {
            QuotaWindow::Message => (self.message_at, &self.message_sends),
            QuotaWindow::Enter => (self.enter_at, &self.enter_sends),
        }
    }

    fn sends_mut(&mut self, window: QuotaWindow) -> &mut Vec<String> {
        match window {
            QuotaWindow::Message => &mut self.message_sends,
            QuotaWindow::Enter => &mut self.enter_sends,
        }
    }

    /// Opens (or reopens) `window` at `at` for the push `opener`: a later action resets the
    /// count, and so does another push stamped the same second (WeChat's CreateTime has
    /// seconds only); the same push again (a redelivery, a duplicate job) or an older one
    /// changes nothing. Says whether the count was reset.
    ///
    /// A window stored as opened after `now` plus [`MAX_AHEAD`] cannot be real (a push stamped
    /// far in the future once got in): it is replaced, so it cannot mute a user for ever.
    pub fn open(&mut self, window: QuotaWindow, at: i64, opener: &str, now: i64) -> bool {
        let (opened, openers, sends) = match window {
            QuotaWindow::Message => (
                &mut self.message_at,
                &mut self.message_openers,
                &mut self.message_sends,
            ),
            QuotaWindow::Enter => (
                &mut self.enter_at,
                &mut self.enter_openers,
                &mut self.enter_sends,
            ),
        };
        let impossible = now.saturating_add(MAX_AHEAD);
        match *opened {
            Some(previous) if previous > at && previous <= impossible => return false,
            Some(previous) if previous == at => {
                if openers.iter().any(|o| o == opener) {
                    return false;
                }
            }
            _ => openers.clear(),
        }
        *opened = Some(at);
        openers.push(opener.to_owned());
        sends.clear();
        true
    }

    /// The open window with room at `now` that stays open longest, if any: the one a send
    /// at `now` is allowed by. A window's count is every send since it opened, whichever
    /// window allowed it (the allowance does not accumulate).
    pub fn available(&self, now: i64) -> Option<QuotaWindow> {
        // A window opened "in the future" (another instance's clock runs ahead) counts as open.
        WINDOWS
            .into_iter()
            .filter(|&window| {
                let (opened, sends) = self.window(window);
                opened.is_some_and(|at| at > now.saturating_sub(length(window)))
                    && sends.len() < limit(window) as usize
            })
            .max_by_key(|&window| self.closes(window))
    }

    /// When `window` closes (ms), if it ever opened.
    fn closes(&self, window: QuotaWindow) -> Option<i64> {
        self.window(window)
            .0
            .map(|at| at.saturating_add(length(window)))
    }

    /// Takes one send at `now` for `reservation`, if a window allows it, counting it in every
    /// window; a reservation already held is answered with its window and takes nothing more.
    pub fn reserve(&mut self, now: i64, reservation: &str) -> Option<QuotaWindow> {
        if let Some(window) = self.holding(reservation) {
            return Some(window);
        }
        let window = self.available(now)?;
        for counted in WINDOWS {
            self.sends_mut(counted).push(reservation.to_owned());
        }
        Some(window)
    }

    /// The window `reservation` is held in that stays open longest, if it is held at all.
    pub fn holding(&self, reservation: &str) -> Option<QuotaWindow> {
        WINDOWS
            .into_iter()
            .filter(|&window| self.window(window).1.iter().any(|r| r == reservation))
            .max_by_key(|&window| self.closes(window))
    }

    /// Gives back `reservation`, in every window (nothing, if it is not held).
    pub fn refund(&mut self, reservation: &str) {
        for window in WINDOWS {
            self.sends_mut(window).retain(|r| r != reservation);
        }
    }

    /// The windows as the stores report them (counts, not names).
    pub fn windows(&self) -> QuotaWindows {
        QuotaWindows {
            message_at: self.message_at,
            message_sends: self.message_sends.len(),
            enter_at: self.enter_at,
            enter_sends: self.enter_sends.len(),
        }
    }
}

/// Where a user stands at an instant: the window a send would be counted in (the open one that
/// stays open longest, with room or not) and the sends left before WeChat refuses one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The open window that closes last, and when it closes (ms); none: every window is closed
    /// (WeChat answers 45015).
    pub open: Option<(QuotaWindow, i64)>,
    /// Sends allowed now (0 with a window open: the allowance is spent, WeChat answers 45047).
    pub remaining: u32,
}

/// Where the user of `windows` stands at `now`, by the same rules as [`QuotaState::available`].
pub fn standing(windows: &QuotaWindows, now: i64) -> Standing {
    let of = |window| match window {
        QuotaWindow::Message => (windows.message_at, windows.message_sends),
        QuotaWindow::Enter => (windows.enter_at, windows.enter_sends),
    };
    let open: Vec<(QuotaWindow, i64, usize)> = WINDOWS
        .into_iter()
        .filter_map(|window| {
            let (at, sends) = of(window);
            let at = at.filter(|at| *at > now.saturating_sub(length(window)))?;
            Some((window, at.saturating_add(length(window)), sends))
        })
        .collect();
    let remaining = open
        .iter()
        .map(|(window, _, sends)| {
            u32::try_from(sends.to_owned()).map_or(0, |sends| limit(*window).saturating_sub(sends))
        })
        .max()
        .unwrap_or(0);
    Standing {
        open: open
            .iter()
            .max_by_key(|(_, closes, _)| *closes)
            .map(|(window, closes, _)| (*window, *closes)),
        remaining,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh reservation name.
    fn next() -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        format!("r{}", N.fetch_add(1, Ordering::SeqCst))
    }

    const T: i64 = 1_714_112_445_000;

    #[test]
    fn five_sends_after_a_message_then_none() {
        let mut q = QuotaState::default();
        assert_eq!(
            q.reserve(T, &next()),
            None,
            "no window before the user writes"
        );
        q.open(QuotaWindow::Message, T, "push-1", T);
        for _ in 0..5 {
            assert_eq!(q.reserve(T + 1, &next()), Some(QuotaWindow::Message));
        }
        assert_eq!(q.reserve(T + 2, &next()), None, "a sixth send is refused");
    }

    #[test]
    fn the_next_message_restores_the_quota_and_a_redelivery_does_not() {
        let mut q = QuotaState::default();
        q.open(QuotaWindow::Message, T, "push-1", T);
        for _ in 0..5 {
            q.reserve(T, &next());
        }
        assert!(
            !q.open(QuotaWindow::Message, T, "push-1", T),
            "same job again"
        );
        assert!(
            !q.open(QuotaWindow::Message, T - 1_000, "push-0", T),
            "an older push changes nothing"
        );
        assert_eq!(q.reserve(T, &next()), None);
        assert!(q.open(QuotaWindow::Message, T + 10, "push-2", T));
        assert_eq!(q.reserve(T + 10, &next()), Some(QuotaWindow::Message));
    }

    #[test]
    fn the_message_window_closes_after_48_hours() {
        let mut q = QuotaState::default();
        q.open(QuotaWindow::Message, T, "push-1", T);
        assert_eq!(
            q.reserve(T + MESSAGE_WINDOW_MS - 1, &next()),
            Some(QuotaWindow::Message)
        );
        assert_eq!(q.reserve(T + MESSAGE_WINDOW_MS, &next()), None);
    }

    #[test]
    fn entering_the_session_allows_two_sends_in_a_minute() {
        let mut q = QuotaState::default();
        q.open(QuotaWindow::Enter, T, "push-1", T);
        assert_eq!(q.reserve(T, &next()), Some(QuotaWindow::Enter));
        assert_eq!(q.reserve(T + 1, &next()), Some(QuotaWindow::Enter));
        assert_eq!(q.reserve(T + 2, &next()), None);
        q.refund("not held");
        assert_eq!(
            q.reserve(T + 2, &next()),
            None,
            "a refund of nothing gives nothing"
        );
        let held = q.enter_sends[0].clone();
        q.refund(&held);
        assert_eq!(q.reserve(T + 3, &next()), Some(QuotaWindow::Enter));
        assert_eq!(
            q.reserve(T + ENTER_WINDOW_MS, &next()),
            None,
            "the minute is over"
        );
    }

    #[test]
    fn a_message_and_then_entering_the_session_allow_five_sends_not_seven() {
        // 「可发送客服消息条数不累加」: the enter-session restores the count to its own
        // maximum (2), which the message's 5 already exceed.
        let mut q = QuotaState::default();
        q.open(QuotaWindow::Message, T, "push-1", T);
        q.open(QuotaWindow::Enter, T + 1_000, "push-2", T + 1_000);
        let sent = (0..10)
            .filter(|_| q.reserve(T + 2_000, &next()).is_some())
            .count();
        assert_eq!(sent, 5);
    }

    #[test]
    fn entering_and_then_a_message_allow_five_sends_not_seven() {
        let mut q = QuotaState::default();
        q.open(QuotaWindow::Enter, T, "push-1", T);
        q.open(QuotaWindow::Message, T + 1_000, "push-2", T + 1_000);
        let sent = (0..10)
            .filter(|_| q.reserve(T + 2_000, &next()).is_some())
            .count();
        assert_eq!(sent, 5);
    }

    #[test]
    fn entering_after_the_fifth_send_restores_two_for_a_minute() {
        let mut q = QuotaState::default();
        q.open(QuotaWindow::Message, T, "push-1", T);
        for _ in 0..5 {
            assert_eq!(q.reserve(T, &next()), Some(QuotaWindow::Message));
        }
        assert_eq!(q.reserve(T, &next()), None);
        q.open(QuotaWindow::Enter, T + 10_000, "push-2", T + 10_000);
        assert_eq!(q.reserve(T + 10_000, &next()), Some(QuotaWindow::Enter));
        assert_eq!(q.reserve(T + 10_001, &next()), Some(QuotaWindow::Enter));
        assert_eq!(
            q.reserve(T + 10_002, &next()),
            None,
            "restored to 2, not more"
        );
        q.open(QuotaWindow::Enter, T + 30_000, "push-3", T + 30_000);
        assert_eq!(
            q.reserve(T + 30_000 + ENTER_WINDOW_MS, &next()),
            None,
            "the minute is over and the message's 5 are spent"
        );
    }

    #[test]
    fn a_send_allowed_by_both_windows_is_held_by_the_one_open_longest() {
        let mut q = QuotaState::default();
        q.open(QuotaWindow::Message, T, "push-1", T);
        q.open(QuotaWindow::Enter, T, "push-2", T);
        assert_eq!(q.reserve(T, "a"), Some(QuotaWindow::Message));
        assert_eq!(q.holding("a"), Some(QuotaWindow::Message));
        q.refund("a");
        assert_eq!(q.holding("a"), None);
        assert!(q.message_sends.is_empty() && q.enter_sends.is_empty());
    }

    #[test]
    fn a_repeated_reservation_takes_one_send_and_a_repeated_refund_gives_one_back() {
        let mut q = QuotaState::default();
        q.open(QuotaWindow::Message, T, "push-1", T);
        assert_eq!(q.reserve(T, "a"), Some(QuotaWindow::Message));
        assert_eq!(
            q.reserve(T, "a"),
            Some(QuotaWindow::Message),
            "the SDK repeated it"
        );
        assert_eq!(q.message_sends.len(), 1);
        q.refund("a");
        q.refund("a");
        assert!(q.message_sends.is_empty());
    }

    #[test]
    fn another_message_in_the_same_second_restores_the_quota_too() {
        let mut q = QuotaState::default();
        q.open(QuotaWindow::Message, T, "push-a", T);
        for _ in 0..5 {
            q.reserve(T, &next());
        }
        assert_eq!(q.reserve(T, &next()), None);
        assert!(
            q.open(QuotaWindow::Message, T, "push-b", T),
            "a second message, same CreateTime"
        );
        assert_eq!(q.reserve(T, &next()), Some(QuotaWindow::Message));
        assert!(
            !q.open(QuotaWindow::Message, T, "push-a", T),
            "a redelivery of the first"
        );
        assert!(!q.open(QuotaWindow::Message, T, "push-b", T));
    }

    #[test]
    fn standing_tells_a_closed_window_from_a_spent_allowance() {
        let mut q = QuotaState::default();
        assert_eq!(standing(&q.windows(), T).open, None, "never written");
        q.open(QuotaWindow::Message, T, "push-1", T);
        for _ in 0..3 {
            q.reserve(T, &next());
        }
        let now = standing(&q.windows(), T + 1);
        assert_eq!(
            now.open,
            Some((QuotaWindow::Message, T + MESSAGE_WINDOW_MS))
        );
        assert_eq!(now.remaining, 2);
        for _ in 0..2 {
            q.reserve(T, &next());
        }
        assert_eq!(
            standing(&q.windows(), T + 1).remaining,
            0,
            "spent, still open"
        );
        let later = standing(&q.windows(), T + MESSAGE_WINDOW_MS);
        assert_eq!((later.open, later.remaining), (None, 0), "closed");
        // Entering restores two for a minute, as `available` allows them.
        q.open(QuotaWindow::Enter, T + 10, "push-2", T + 10);
        let entered = standing(&q.windows(), T + 20);
        assert_eq!(entered.remaining, 2);
        assert_eq!(
            entered.remaining as usize,
            (0..5)
                .filter(|_| q.reserve(T + 20, &next()).is_some())
                .count()
        );
    }

    #[test]
    fn a_window_stored_far_in_the_future_heals() {
        let mut q = QuotaState::default();
        q.open(
            QuotaWindow::Message,
            T + 365 * 24 * 3600 * 1000,
            "poison",
            T,
        );
        assert!(
            q.open(QuotaWindow::Message, T, "real", T),
            "a real message replaces the impossible window"
        );
        assert_eq!(q.message_at, Some(T));
        assert!(
            !q.open(QuotaWindow::Message, T - 1, "older", T),
            "a plausible later window is kept"
        );
    }
}
