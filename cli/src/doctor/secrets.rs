//! The two secrets parameters' check: the JSON's shape, and each value's length and kind by
//! the one rule of each secret (`kefu::protocol::settings`), in words that never include a
//! value; and what the later checks can use from them.

use kefu::aws::StoredSecrets;
use kefu::ports::PortError;
use kefu::protocol::Token;
use kefu::protocol::settings::{self, AesKeyProblem, AppSecretProblem};
use kefu::secret::SecretString;

use super::check::{Check, SETTINGS, Status, shorten};
use crate::aws_args::tell;

/// What the later checks can use from the secrets.
#[derive(Debug, Default)]
pub(super) struct Usable {
    pub(super) token: Option<Token>,
    pub(super) app_secret: Option<SecretString>,
}

/// Which of the two secrets parameters: receive's push secrets, or reply's AppSecret (apart,
/// so that the internet-facing function cannot read the AppSecret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Holds {
    Push,
    Api,
}

impl Holds {
    /// The check's name.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Push => "push secrets",
            Self::Api => "API secrets",
        }
    }

    /// The keys this parameter holds.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Push => &["token", "encoding_aes_key"],
            Self::Api => &["app_secret"],
        }
    }

    /// The JSON it holds, in words.
    fn shape(self) -> &'static str {
        match self {
            Self::Push => "{\"token\": …, \"encoding_aes_key\": …}",
            Self::Api => "{\"app_secret\": …}",
        }
    }
}

pub(super) fn secrets_check(
    read: Result<Option<StoredSecrets>, PortError>,
    parameter: &str,
    holds: Holds,
) -> (Check, Usable) {
    match read {
        Ok(Some(stored)) => {
            let (status, detail, usable) = inspect_secrets(&stored, holds);
            (
                Check::new(holds.name(), status, format!("{parameter}: {detail}")),
                usable,
            )
        }
        Ok(None) => (
            Check::new(
                holds.name(),
                Status::Fail,
                format!(
                    "{parameter} does not exist: create it as a SecureString with {} \
                     (README, Deploying)",
                    holds.shape()
                ),
            ),
            Usable::default(),
        ),
        Err(err) => (
            Check::new(holds.name(), Status::Fail, tell(&err.to_string())),
            Usable::default(),
        ),
    }
}

/// The keys the two secrets parameters may have.
const SECRET_KEYS: [&str; 3] = ["token", "encoding_aes_key", "app_secret"];

/// The shape of the secrets JSON and the length and alphabet of each value, in words that
/// never include a value.
fn inspect_secrets(stored: &StoredSecrets, holds: Holds) -> (Status, String, Usable) {
    let mut usable = Usable::default();
    let json: serde_json::Value = match serde_json::from_str(stored.value.expose()) {
        Ok(json) => json,
        // Only the position: serde_json's message can quote the text.
        Err(e) => {
            return (
                Status::Fail,
                format!(
                    "not JSON (line {}, column {}); expected {}",
                    e.line(),
                    e.column(),
                    holds.shape()
                ),
                usable,
            );
        }
    };
    let Some(object) = json.as_object() else {
        return (
            Status::Fail,
            format!("JSON {}, not an object {}", kind(&json), holds.shape()),
            usable,
        );
    };
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut facts = Vec::new();
    for key in object
        .keys()
        .filter(|k| !holds.keys().contains(&k.as_str()))
    {
        if key == "app_secret" {
            problems.push(
                "app_secret must not be here: receive, which the internet reaches, reads this \
                 parameter (and refuses to start); keep it in the API secrets parameter only"
                    .to_owned(),
            );
        } else if SECRET_KEYS.contains(&key.as_str()) {
            problems.push(format!("{key} belongs in the push secrets parameter"));
        } else {
            problems.push(format!(
                "unknown key {:?} (the keys are {})",
                shorten(key, 40),
                holds.keys().join(", ")
            ));
        }
    }
    if !stored.secure {
        warnings.push("a plain String parameter: make it a SecureString".to_owned());
    }
    let text = |key: &str| -> Result<Option<&str>, String> {
        match object.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(value)) => Ok(Some(value.as_str())),
            Some(other) => Err(format!("{key} is {}, not a string", kind(other))),
        }
    };

    let holds_key = |key: &str| holds.keys().contains(&key);
    if holds_key("token") {
        match text("token") {
            Err(problem) => problems.push(problem),
            Ok(None) => problems.push("no token (the Token of 消息推送)".to_owned()),
            Ok(Some(token)) => {
                let length = token.chars().count();
                facts.push(format!("token {length} characters"));
                if let Err(problem) = settings::check_token(token) {
                    problems.push(format!("token {problem}"));
                }
                if !token.is_empty() {
                    usable.token = Some(Token::new(SecretString::new(token)));
                }
            }
        }
    }
    if holds_key("encoding_aes_key") {
        match text("encoding_aes_key") {
            Err(problem) => problems.push(problem),
            Ok(None) => warnings.push(
                "no encoding_aes_key: plaintext pushes only (明文模式); encrypted ones are refused"
                    .to_owned(),
            ),
            Ok(Some(key)) => {
                let length = key.chars().count();
                facts.push(format!("encoding_aes_key {length} characters"));
                match settings::check_encoding_aes_key(key) {
                    Ok(_) => {}
                    Err(AesKeyProblem::Length(length)) => problems.push(format!(
                        "encoding_aes_key is {length} characters, it must be 43 (as 消息推送 shows it)"
                    )),
                    Err(AesKeyProblem::Key(err)) => {
                        problems.push(format!("encoding_aes_key: {err}"));
                    }
                }
            }
        }
    }
    if holds_key("app_secret") {
        match text("app_secret") {
            Err(problem) => problems.push(problem),
            Ok(None) => problems
                .push("no app_secret: the reply function cannot fetch an access_token".to_owned()),
            Ok(Some(secret)) => {
                let length = secret.chars().count();
                facts.push(format!("app_secret {length} characters"));
                match settings::check_app_secret(secret) {
                    Ok(()) => {}
                    Err(AppSecretProblem::Spaces) => {
                        problems.push("app_secret has spaces around it".to_owned());
                    }
                    Err(AppSecretProblem::Form(length)) => warnings.push(format!(
                        "app_secret is {length} characters; {SETTINGS} shows a 32-character hexadecimal AppSecret"
                    )),
                }
                if !secret.is_empty() {
                    usable.app_secret = Some(SecretString::new(secret));
                }
            }
        }
    }
    let status = if !problems.is_empty() {
        Status::Fail
    } else if !warnings.is_empty() {
        Status::Warn
    } else {
        Status::Ok
    };
    let detail = problems
        .into_iter()
        .chain(warnings)
        .chain(std::iter::once(facts.join(", ")).filter(|f| !f.is_empty()))
        .collect::<Vec<_>>()
        .join("; ");
    (status, detail, usable)
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "kefuDoctorToken2026";
    const KEY: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456";
    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn stored(json: &str) -> StoredSecrets {
        StoredSecrets {
            value: SecretString::new(json),
            secure: true,
        }
    }

    #[test]
    fn good_secrets_are_told_by_their_lengths_only() {
        let json = serde_json::json!({"token": TOKEN, "encoding_aes_key": KEY});
        let (status, detail, usable) = inspect_secrets(&stored(&json.to_string()), Holds::Push);
        assert_eq!(status, Status::Ok, "{detail}");
        assert_eq!(
            detail,
            "token 19 characters, encoding_aes_key 43 characters"
        );
        assert!(usable.token.is_some());
        let json = serde_json::json!({"app_secret": SECRET});
        let (status, detail, usable) = inspect_secrets(&stored(&json.to_string()), Holds::Api);
        assert_eq!(status, Status::Ok, "{detail}");
        assert_eq!(detail, "app_secret 32 characters");
        assert!(usable.app_secret.is_some());
    }

    #[test]
    fn the_app_secret_in_receives_parameter_is_a_problem() {
        let json =
            serde_json::json!({"token": TOKEN, "encoding_aes_key": KEY, "app_secret": SECRET});
        let (status, detail, _) = inspect_secrets(&stored(&json.to_string()), Holds::Push);
        assert_eq!(status, Status::Fail, "{detail}");
        assert!(detail.contains("app_secret must not be here"), "{detail}");
        let json = serde_json::json!({"token": TOKEN, "app_secret": SECRET});
        let (status, detail, _) = inspect_secrets(&stored(&json.to_string()), Holds::Api);
        assert_eq!(status, Status::Fail, "{detail}");
        assert!(
            detail.contains("token belongs in the push secrets parameter"),
            "{detail}"
        );
    }

    #[test]
    fn each_shape_problem_is_named_without_the_value() {
        let cases = [
            ("{not json", "not JSON (line 1, column 2)", Holds::Push),
            ("[1]", "JSON an array, not an object", Holds::Push),
            (
                r#"{"Token":"abcdef","token":"abcdef","encoding_aes_key":"x"}"#,
                "unknown key \"Token\"",
                Holds::Push,
            ),
            (r#"{"token":"ab"}"#, "token is 2 characters", Holds::Push),
            (
                r#"{"token":"kefu-sample-token"}"#,
                "other than letters and digits",
                Holds::Push,
            ),
            (
                r#"{"token":"abcdef","encoding_aes_key":"shortkey"}"#,
                "encoding_aes_key is 8 characters, it must be 43",
                Holds::Push,
            ),
            (
                r#"{"token":"abcdef","encoding_aes_key":42}"#,
                "encoding_aes_key is a number",
                Holds::Push,
            ),
            (r#"{}"#, "no app_secret", Holds::Api),
            (
                r#"{"token":" abcdef"}"#,
                "token has spaces around it",
                Holds::Push,
            ),
        ];
        for (json, says, holds) in cases {
            let (status, detail, _) = inspect_secrets(&stored(json), holds);
            assert_eq!(status, Status::Fail, "{json}: {detail}");
            assert!(detail.contains(says), "{json}: {detail}");
            for value in [
                "shortkey",
                "kefu-sample-token",
                "abcdef\"",
                "0123456789abcdef",
            ] {
                assert!(!detail.contains(value), "{json}: {detail} shows a value");
            }
        }
    }

    #[test]
    fn a_plain_string_parameter_and_an_odd_app_secret_are_warnings() {
        let json = serde_json::json!({"token": TOKEN});
        let (status, detail, _) = inspect_secrets(
            &StoredSecrets {
                value: SecretString::new(json.to_string()),
                secure: false,
            },
            Holds::Push,
        );
        assert_eq!(status, Status::Warn, "{detail}");
        assert!(detail.contains("SecureString"), "{detail}");
        assert!(detail.contains("no encoding_aes_key"), "{detail}");
        let json = serde_json::json!({"app_secret": "kefu-sample-app-secret"});
        let (status, detail, _) = inspect_secrets(&stored(&json.to_string()), Holds::Api);
        assert_eq!(status, Status::Warn, "{detail}");
        assert!(detail.contains("app_secret is 22 characters"), "{detail}");
        assert!(!detail.contains("kefu-sample-app-secret"), "{detail}");
    }
}
