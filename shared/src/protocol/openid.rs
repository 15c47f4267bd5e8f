//! A user's openid: who a push comes from (`FromUserName`) and whom a send goes to (`touser`).
//!
//! WeChat documents what an openid is (the user's id within one app) but not its form. The ones
//! it issues are 28 characters of letters, digits, `_` and `-` (`o9AgO5Kd5ggOC-bXrbNODIiE3bGY`);
//! kefu is lenient where the form is not documented and takes 1 to 64 of those characters — the
//! rule the outbox's commands already had. What it excludes matters to kefu: a `#` would make
//! the ledger's and the stores' keys (`push#{appid}#{openid}#…`) ambiguous, and spaces, `/` or
//! markup have no place in a key, a URL path or a CDATA section.
//!
//! Parsed where an openid comes in — a push's `FromUserName`, a job, an outbox command, `kefu
//! send` and `kefu user`, a hook's request in `kefu dev` — and carried typed from there. The
//! serialized form is the text itself (jobs, store keys and events are as they were), and
//! reading one back checks it again. Openids are not secrets: Debug and Display show them as
//! the text they are (events may hash them, `events::UserForm`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest openid accepted (WeChat's are 28 characters).
pub const MAX_OPENID_CHARS: usize = 64;

/// A user's openid: 1 to 64 ASCII letters, digits, `_` and `-`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpenId(String);

/// Why text is not an openid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotAnOpenId {
    #[error("missing (empty)")]
    Empty,
    #[error("longer than {MAX_OPENID_CHARS} characters")]
    TooLong,
    #[error("letters, digits, '_' and '-' only (as WeChat writes openids)")]
    Characters,
}

impl OpenId {
    pub fn parse(text: &str) -> Result<Self, NotAnOpenId> {
        if text.is_empty() {
            return Err(NotAnOpenId::Empty);
        }
        if text.chars().count() > MAX_OPENID_CHARS {
            return Err(NotAnOpenId::TooLong);
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(NotAnOpenId::Characters);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// As the text would show: `"o1"` (what logs printed while openids were strings).
impl fmt::Debug for OpenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for OpenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for OpenId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for OpenId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for OpenId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl std::str::FromStr for OpenId {
    type Err = NotAnOpenId;
    fn from_str(text: &str) -> Result<Self, NotAnOpenId> {
        Self::parse(text)
    }
}

/// The text itself, as a string was.
impl Serialize for OpenId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A string, checked: a job or a command naming something else is not read.
impl<'de> Deserialize<'de> for OpenId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(|err| serde::de::Error::custom(format!("openid: {err}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn openids_are_1_to_64_letters_digits_underscores_and_dashes() {
        for good in [
            "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
            "o1",
            "x",
            "oUser_1-x",
            &"o".repeat(64),
        ] {
            assert_eq!(OpenId::parse(good).unwrap().as_str(), good);
        }
        for (bad, why) in [
            ("", NotAnOpenId::Empty),
            (&"o".repeat(65), NotAnOpenId::TooLong),
            ("o 1", NotAnOpenId::Characters),
            (" o1", NotAnOpenId::Characters),
            ("o1#2", NotAnOpenId::Characters),
            ("o/../x", NotAnOpenId::Characters),
            ("o]]><Evil/>", NotAnOpenId::Characters),
            ("用户", NotAnOpenId::Characters),
        ] {
            assert_eq!(OpenId::parse(bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn an_openid_reads_and_writes_as_its_text_and_is_checked_when_read() {
        let openid = OpenId::parse("o-user_1").unwrap();
        assert_eq!(serde_json::to_string(&openid).unwrap(), r#""o-user_1""#);
        assert_eq!(
            serde_json::from_str::<OpenId>(r#""o-user_1""#).unwrap(),
            openid
        );
        // Escaped JSON text is read as what it says.
        assert_eq!(
            serde_json::from_str::<OpenId>(r#""o\u002duser_1""#).unwrap(),
            openid
        );
        let refused = serde_json::from_str::<OpenId>(r#""o#1""#)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("openid: letters"), "{refused}");
        assert_eq!(format!("{openid:?}"), r#""o-user_1""#);
        assert_eq!(openid.to_string(), "o-user_1");
    }
}
