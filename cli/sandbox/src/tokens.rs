//! Access tokens: `cgi-bin/token` and `cgi-bin/stable_token`, and the check every API call makes.
//!
//! The two kinds are isolated, as on WeChat: fetching one never touches the other.
//!
//! * `token`: each fetch issues a new token (7200 s). The token it replaces stays valid for
//!   5 more minutes (the platform's refresh grace); any older one dies at once, so at most two
//!   plain tokens are ever valid.
//! * `stable_token`, normal mode: the current token is returned again (`expires_in` = the seconds
//!   it has left) while it has more than 5 minutes left; after that a new one is issued and the
//!   old one lives out its 7200 s. `force_refresh`: a new token at once, the previous one valid
//!   5 more minutes; at most once per 30 s (45011) and 20 times per 24 h (45009).
//!
//! A token that was revoked or superseded past its grace answers 40001; one that outlived its
//! 7200 s answers 42001; no token at all answers 41001.

use std::collections::HashMap;

use super::errcode;

/// How long a token lives, as WeChat announces in `expires_in`.
pub(super) const LIFETIME_MS: i64 = 7_200_000;
/// The overlap during which a replaced token still works.
const GRACE_MS: i64 = 300_000;
/// Minimum spacing of `force_refresh` calls.
const FORCE_SPACING_MS: i64 = 30_000;
/// Maximum `force_refresh` calls per 24 h.
const FORCE_PER_DAY: usize = 20;
const DAY_MS: i64 = 86_400_000;
/// Real tokens are about 136 characters (`72_…`); clients must store at least 512.
const TOKEN_CHARS: usize = 136;

#[derive(Debug)]
struct Issued {
    expires_at: i64,
    /// From this instant the token answers 40001 (revoked or superseded).
    dead_at: Option<i64>,
}

impl Issued {
    fn kill_at(&mut self, at: i64) {
        self.dead_at = Some(self.dead_at.map_or(at, |d| d.min(at)));
    }

    fn usable(&self, now: i64) -> bool {
        now < self.expires_at && self.dead_at.is_none_or(|d| now < d)
    }
}

/// Every token the sandbox has issued, and which are current.
#[derive(Debug, Default)]
pub(super) struct Tokens {
    issued: HashMap<String, Issued>,
    current_plain: Option<String>,
    previous_plain: Option<String>,
    current_stable: Option<String>,
    force_refreshes: Vec<i64>,
    serial: u64,
}

impl Tokens {
    fn issue(&mut self, now: i64) -> String {
        self.serial += 1;
        let value = format!("{}_{}", self.serial, random_chars(TOKEN_CHARS));
        self.issued.insert(
            value.clone(),
            Issued {
                expires_at: now + LIFETIME_MS,
                dead_at: None,
            },
        );
        value
    }

    fn kill(&mut self, token: Option<&String>, at: i64) {
        if let Some(issued) = token.and_then(|t| self.issued.get_mut(t)) {
            issued.kill_at(at);
        }
    }

    /// `cgi-bin/token`: a new token; returns it and its `expires_in`.
    pub(super) fn fetch_plain(&mut self, now: i64) -> (String, i64) {
        let older = self.previous_plain.take();
        self.kill(older.as_ref(), now);
        let previous = self.current_plain.take();
        self.kill(previous.as_ref(), now + GRACE_MS);
        self.previous_plain = previous;
        let token = self.issue(now);
        self.current_plain = Some(token.clone());
        (token, LIFETIME_MS / 1000)
    }

    /// `cgi-bin/stable_token`: the token and its `expires_in`, or an errcode.
    pub(super) fn fetch_stable(
        &mut self,
        force_refresh: bool,
        now: i64,
    ) -> Result<(String, i64), i64> {
        if force_refresh {
            if self
                .force_refreshes
                .last()
                .is_some_and(|&last| now - last < FORCE_SPACING_MS)
            {
                return Err(errcode::MINUTE_QUOTA);
            }
            self.force_refreshes.retain(|&at| now - at < DAY_MS);
            if self.force_refreshes.len() >= FORCE_PER_DAY {
                return Err(errcode::DAILY_QUOTA);
            }
            self.force_refreshes.push(now);
            let previous = self.current_stable.take();
            self.kill(previous.as_ref(), now + GRACE_MS);
        } else if let Some(current) = &self.current_stable
            && let Some(issued) = self.issued.get(current)
            && issued.usable(now)
            && issued.expires_at - now > GRACE_MS
        {
            return Ok((current.clone(), (issued.expires_at - now) / 1000));
        }
        // Normal mode past the refresh point: the old token simply lives out its 7200 s.
        let token = self.issue(now);
        self.current_stable = Some(token.clone());
        Ok((token, LIFETIME_MS / 1000))
    }

    /// Whether this issued `token` (whatever its state now).
    pub(super) fn knows(&self, token: &str) -> bool {
        self.issued.contains_key(token)
    }

    /// Whether `token` may call an API now.
    pub(super) fn check(&self, token: Option<&str>, now: i64) -> Result<(), i64> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(errcode::ACCESS_TOKEN_MISSING);
        };
        let Some(issued) = self.issued.get(token) else {
            return Err(errcode::INVALID_CREDENTIAL);
        };
        if issued
            .dead_at
            .is_some_and(|d| now >= d && d < issued.expires_at)
        {
            return Err(errcode::INVALID_CREDENTIAL);
        }
        if now >= issued.expires_at {
            return Err(errcode::ACCESS_TOKEN_EXPIRED);
        }
        Ok(())
    }

    /// Every token issued so far answers 40001 from now on; the next fetch of either kind
    /// issues a new one.
    pub(super) fn revoke_all(&mut self, now: i64) {
        for issued in self.issued.values_mut() {
            issued.kill_at(now);
        }
        self.current_plain = None;
        self.previous_plain = None;
        self.current_stable = None;
    }
}

/// `len` random characters from the alphabet WeChat uses in tokens and media ids.
pub(super) fn random_chars(len: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = vec![0u8; len];
    if getrandom::fill(&mut bytes).is_err() {
        // No entropy: still unique, because every caller prefixes a serial number.
        bytes.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
    }
    bytes
        .iter()
        .map(|b| {
            ALPHABET
                .get(usize::from(b & 63))
                .map_or('A', |&c| char::from(c))
        })
        .collect()
}
