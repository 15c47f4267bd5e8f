//! The documented sample deployment: credentials, identities and rules shared by `kefu dev`,
//! the events in `events/` and the tests. Published in the README, so not secrets: never use
//! them for a real mini program.

use crate::protocol::{AesKey, Credentials, Token};
use crate::rules::RuleSet;

pub const TOKEN: &str = "kefu-sample-token";
/// 43 characters, as 小程序后台 generates them.
pub const ENCODING_AES_KEY: &str = "kefuSampleEncodingAesKey0123456789abcdefABC";
pub const APPID: &str = "wx5ea1c0de5ea1c0de";
/// The AppSecret the sandbox expects for `APPID`.
pub const APP_SECRET: &str = "kefu-sample-app-secret";
/// The mini program's original id (`ToUserName` of every push).
pub const ORIGINAL_ID: &str = "gh_5ea1c0de5ea1";
/// The sample user's openid (`FromUserName`).
pub const OPENID: &str = "oKefu-Sample-User-0000000000";
/// `rules/sample.json`: a transfer keyword (人工), keyword, type and event rules, a default.
pub const RULES_JSON: &str = include_str!("../../rules/sample.json");

/// The sample credentials, ready to verify and decrypt pushes.
pub fn credentials() -> Credentials {
    Credentials {
        token: Token::new(TOKEN),
        // The constant is a valid key: covered by the sample tests.
        aes_key: AesKey::from_encoding_aes_key(ENCODING_AES_KEY).ok(),
        appid: APPID.to_owned(),
    }
}

/// The sample rules. The file is validated by the tests; an invalid edit yields an empty set.
pub fn rules() -> RuleSet {
    RuleSet::from_json(RULES_JSON).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_key_and_rules_are_valid() {
        assert!(AesKey::from_encoding_aes_key(ENCODING_AES_KEY).is_ok());
        assert_eq!(ENCODING_AES_KEY.len(), 43);
        let rules = RuleSet::from_json(RULES_JSON).unwrap();
        assert!(rules.default.is_some());
        assert!(rules.rules.iter().any(|r| r.name == "human"));
    }
}
