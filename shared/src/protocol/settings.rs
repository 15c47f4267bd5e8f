//! An app's AppID, with its one rule: `kefu doctor`, `kefu apps add`, `kefu dev --apps`, `kefu
//! rules --appid` and the push path's app lookup check against it.
//!
//! Which rule wins where two were: WeChat's form (`wx` and 16 letters or digits, the
//! template's `AppId` pattern), not the looser "1–32 letters, digits and `_`" the lookup once
//! allowed: every app a deployment serves is added under such an AppID, so nothing served is
//! lost, and a name of another form is never looked up.

use std::fmt;

/// A mini program's AppID as WeChat issues it: `wx` and 16 ASCII letters or digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppId(String);

/// Text that is not an AppID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an AppID: wx and 16 letters or digits")]
pub struct NotAnAppId;

impl AppId {
    pub fn parse(text: &str) -> Result<Self, NotAnAppId> {
        let well_formed = text.len() == 18
            && text.starts_with("wx")
            && text.bytes().all(|b| b.is_ascii_alphanumeric());
        if well_formed {
            Ok(Self(text.to_owned()))
        } else {
            Err(NotAnAppId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for AppId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for AppId {
    type Err = NotAnAppId;
    fn from_str(text: &str) -> Result<Self, NotAnAppId> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appids_are_wx_and_16_letters_or_digits() {
        assert_eq!(
            AppId::parse("wx5823bf96d3bd56c7").map(AppId::into_string),
            Ok("wx5823bf96d3bd56c7".to_owned())
        );
        for bad in [
            "",
            "wx1",
            "wx123",
            "wxA",
            "gh_5ea1c0de5ea1",
            "wx5ea1c0de5ea1c0d!",
            "wx5ea1c0de5ea1c0de0",
            "WX5ea1c0de5ea1c0de",
            "wx/../push5ea1c0de",
            "wx5ea1c0de%2F1c0de",
        ] {
            assert_eq!(AppId::parse(bad), Err(NotAnAppId), "{bad:?}");
        }
    }
}
