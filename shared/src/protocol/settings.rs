//! What 小程序后台 → 开发设置 shows for an app — its AppID and AppSecret, and 消息推送's Token
//! and EncodingAESKey — each with its one rule. `kefu doctor`, `kefu apps add`, `kefu dev
//! --apps`, `kefu rules --appid`, the crypto flags and the push path's app lookup check against
//! these; each caller decides what a problem costs (a refusal, a failed or a warned check). A
//! problem is told by length and kind, never with the value.
//!
//! Which rule wins where two were: the AppID is WeChat's form (`wx` and 16 letters or digits,
//! the template's `AppId` pattern), not the looser "1–32 letters, digits and `_`" the lookup
//! once allowed: every app a deployment serves is added under such an AppID, so nothing
//! served is lost, and a name of another form is never looked up. The EncodingAESKey is what
//! the functions decode (surrounding spaces and `=` padding aside, 43 base64 characters making
//! 32 bytes). Token and AppSecret follow WeChat; the sample deployment and the sandbox use
//! others (`kefu-sample-token`), which `apps add` accepts and `doctor` names.

use std::fmt;

use super::aes_frame::{AesKey, CryptoError};

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

/// Why a Token is not one WeChat accepts (3 to 32 letters and digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenProblem {
    #[error("has spaces around it")]
    Spaces,
    #[error("is {0} characters: WeChat's Token is 3 to 32 letters and digits")]
    Length(usize),
    #[error("has characters other than letters and digits, which WeChat's Token cannot have")]
    Characters,
}

/// WeChat's rule for 消息推送's Token: 3 to 32 ASCII letters and digits.
pub fn check_token(token: &str) -> Result<(), TokenProblem> {
    let length = token.chars().count();
    if token.trim() != token {
        Err(TokenProblem::Spaces)
    } else if !(3..=32).contains(&length) {
        Err(TokenProblem::Length(length))
    } else if !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        Err(TokenProblem::Characters)
    } else {
        Ok(())
    }
}

/// Why an EncodingAESKey cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AesKeyProblem {
    /// Not 43 characters (spaces around and `=` padding not counted).
    #[error("is {0} characters, it must be 43")]
    Length(usize),
    /// 43 characters that are not a key.
    #[error(transparent)]
    Key(#[from] CryptoError),
}

/// WeChat's rule for 消息推送's EncodingAESKey, as the functions read it: 43 base64 characters
/// (spaces around and `=` padding aside) that decode to the 32-byte key.
pub fn check_encoding_aes_key(key: &str) -> Result<AesKey, AesKeyProblem> {
    let key = key.trim();
    let length = key.trim_end_matches('=').chars().count();
    if length != 43 {
        return Err(AesKeyProblem::Length(length));
    }
    Ok(AesKey::from_encoding_aes_key(key)?)
}

/// Why an AppSecret is not of the form WeChat issues (32 hexadecimal digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AppSecretProblem {
    #[error("has spaces around it")]
    Spaces,
    #[error("is {0} characters, not WeChat's 32 hexadecimal digits")]
    Form(usize),
}

/// WeChat's form of an AppSecret: 32 hexadecimal digits.
pub fn check_app_secret(secret: &str) -> Result<(), AppSecretProblem> {
    let length = secret.chars().count();
    if secret.trim() != secret {
        Err(AppSecretProblem::Spaces)
    } else if length != 32 || !secret.chars().all(|c| c.is_ascii_hexdigit()) {
        Err(AppSecretProblem::Form(length))
    } else {
        Ok(())
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

    #[test]
    fn tokens_are_3_to_32_letters_and_digits() {
        assert_eq!(check_token("kefuDoctorToken2026"), Ok(()));
        assert_eq!(check_token("ab"), Err(TokenProblem::Length(2)));
        assert_eq!(check_token(&"a".repeat(33)), Err(TokenProblem::Length(33)));
        assert_eq!(check_token(" abcdef"), Err(TokenProblem::Spaces));
        assert_eq!(
            check_token("kefu-sample-token"),
            Err(TokenProblem::Characters)
        );
    }

    #[test]
    fn encoding_aes_keys_are_43_base64_characters_as_the_functions_decode_them() {
        let key = "kefuSampleEncodingAesKey0123456789abcdefABC";
        assert!(check_encoding_aes_key(key).is_ok());
        assert!(check_encoding_aes_key(&format!(" {key}= ")).is_ok());
        assert_eq!(
            check_encoding_aes_key("shortkey").err(),
            Some(AesKeyProblem::Length(8))
        );
        assert!(matches!(
            check_encoding_aes_key(&format!("{}!", &key[..42])),
            Err(AesKeyProblem::Key(_))
        ));
    }

    #[test]
    fn app_secrets_are_32_hexadecimal_digits() {
        assert_eq!(check_app_secret(&"0a".repeat(16)), Ok(()));
        assert_eq!(
            check_app_secret("kefu-sample-app-secret"),
            Err(AppSecretProblem::Form(22))
        );
        assert_eq!(check_app_secret(" 0a0a"), Err(AppSecretProblem::Spaces));
    }
}
