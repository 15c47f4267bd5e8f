//! Fault injection: make the next calls to an endpoint fail (or stall) the way WeChat sometimes
//! does, before any normal handling — or after it, so that a call takes effect and its answer
//! is lost.

use std::time::Duration;

use serde::Deserialize;

/// A WeChat API endpoint the sandbox serves, as a target for faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `GET /cgi-bin/token`.
    Token,
    /// `POST /cgi-bin/stable_token`.
    StableToken,
    /// `POST /cgi-bin/message/custom/send`.
    Send,
    /// `POST /cgi-bin/message/custom/typing`.
    Typing,
    /// `POST /cgi-bin/media/upload`.
    Upload,
    /// Whichever of the above is called next.
    Any,
}

/// What an injected fault does to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer HTTP 200 `{"errcode":N,"errmsg":…}` (e.g. −1 "system error", 45009, 40001).
    Errcode(i64),
    /// Answer this bare HTTP status with a text body (an out-of-range status becomes 500).
    Http(u16),
    /// Sleep this long, then handle the call normally (a slow or hanging WeChat).
    Delay(Duration),
    /// Handle the call normally (a send reaches the user), then hold the answer this long: a
    /// client that gives up first cannot know the message went out.
    AcceptThenHang(Duration),
    /// Handle the call normally, then answer HTTP 200 whose body breaks off: the message went
    /// out, the answer is unreadable.
    AcceptThenDrop,
    /// Answer 40164 as WeChat does when the mini program's API IP whitelist is on and the
    /// caller's address is not on it: `invalid ip A ipv6 ::ffff:A, not in whitelist`, with the
    /// caller's address as the sandbox saw it.
    IpNotWhitelisted,
}

#[derive(Debug)]
struct Pending {
    endpoint: Endpoint,
    fault: Fault,
    remaining: usize,
}

/// Faults waiting to fire, oldest first.
#[derive(Debug, Default)]
pub(super) struct Faults {
    pending: Vec<Pending>,
}

impl Faults {
    pub(super) fn inject(&mut self, endpoint: Endpoint, fault: Fault, times: usize) {
        if times > 0 {
            self.pending.push(Pending {
                endpoint,
                fault,
                remaining: times,
            });
        }
    }

    /// Consumes one use of the oldest fault aimed at `endpoint` (or at any endpoint).
    pub(super) fn take(&mut self, endpoint: Endpoint) -> Option<Fault> {
        let index = self
            .pending
            .iter()
            .position(|p| p.endpoint == endpoint || p.endpoint == Endpoint::Any)?;
        let pending = self.pending.get_mut(index)?;
        let fault = pending.fault;
        pending.remaining -= 1;
        if pending.remaining == 0 {
            self.pending.remove(index);
        }
        Some(fault)
    }
}
