//! The apps file of `kefu dev --apps` (and `kefu push --apps`): several mini programs, each
//! with its credentials and rules, for the local stack.
//!
//! ```json
//! {"apps": [
//!   {"appid": "wx…", "token": "…", "encoding_aes_key": "…", "app_secret": "…", "rules": "a.json"}
//! ]}
//! ```
//!
//! `encoding_aes_key` is left out for a plaintext-only app; `rules` (relative to the file)
//! for an app that uses the dev server's rules (`--rules`, or the sample). The file holds
//! secrets: `kefu` never prints them, and a sample file holds only made-up ones.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kefu::protocol::{AesKey, AppId, Credentials, Token};
use kefu::secret::SecretString;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(rename = "$schema", default)]
    _schema: Option<String>,
    apps: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    appid: String,
    token: SecretString,
    #[serde(default)]
    encoding_aes_key: Option<SecretString>,
    app_secret: SecretString,
    #[serde(default)]
    rules: Option<PathBuf>,
}

/// One app of the file, checked.
#[derive(Debug, Clone)]
pub struct App {
    pub appid: String,
    pub token: SecretString,
    pub aes_key: Option<AesKey>,
    pub app_secret: SecretString,
    /// The app's rules file (resolved against the apps file's folder), if it has its own.
    pub rules: Option<PathBuf>,
}

impl App {
    /// What checks and opens this app's pushes.
    pub fn credentials(&self) -> Credentials {
        Credentials {
            token: Token::new(self.token.clone()),
            aes_key: self.aes_key.clone(),
            appid: self.appid.clone(),
        }
    }
}

/// Reads and checks the apps file: at least one app, appids well formed and distinct, every
/// key 43 characters, every rules file there. Errors name the app (its position and appid).
pub fn load(path: &Path) -> anyhow::Result<Vec<App>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--apps {}: cannot read it", path.display()))?;
    // Only the position: serde's message could quote a secret.
    let file: File = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "--apps {}: not an apps file (line {}, column {}): {}",
            path.display(),
            e.line(),
            e.column(),
            match e.classify() {
                serde_json::error::Category::Data =>
                    "expected {\"apps\": [{\"appid\", \"token\", \"encoding_aes_key\", \"app_secret\", \"rules\"}]}",
                _ => "not valid JSON",
            }
        )
    })?;
    anyhow::ensure!(
        !file.apps.is_empty(),
        "--apps {}: \"apps\" is empty; list at least one app",
        path.display()
    );
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut seen = HashSet::new();
    let mut apps = Vec::new();
    for (n, entry) in file.apps.into_iter().enumerate() {
        let at = format!("--apps {}: apps[{n}]", path.display());
        anyhow::ensure!(
            AppId::parse(&entry.appid).is_ok(),
            "{at}: appid {:?} is not an AppID (wx and 16 letters or digits)",
            entry.appid.chars().take(40).collect::<String>()
        );
        let at = format!("{at} ({})", entry.appid);
        anyhow::ensure!(seen.insert(entry.appid.clone()), "{at}: appid listed twice");
        anyhow::ensure!(
            !entry.token.expose().trim().is_empty(),
            "{at}: token is empty"
        );
        anyhow::ensure!(
            !entry.app_secret.expose().trim().is_empty(),
            "{at}: app_secret is empty"
        );
        let aes_key = entry
            .encoding_aes_key
            .as_ref()
            .map(|key| crate::aes_key::parse(key, &format!("{at}: encoding_aes_key")))
            .transpose()?;
        let rules = entry.rules.map(|rules| folder.join(rules));
        if let Some(rules) = &rules {
            anyhow::ensure!(
                rules.is_file(),
                "{at}: rules file {} does not exist",
                rules.display()
            );
        }
        apps.push(App {
            appid: entry.appid,
            token: entry.token,
            aes_key,
            app_secret: entry.app_secret,
            rules,
        });
    }
    Ok(apps)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kefu-apps-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("apps.json");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn the_shipped_sample_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/apps/two-apps.json");
        let apps = load(&path).unwrap();
        assert_eq!(apps.len(), 2);
        assert!(apps.iter().all(|app| app.aes_key.is_some()));
    }

    #[test]
    fn problems_name_the_app_and_never_quote_a_secret() {
        let key = "ERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzA";
        for (name, text, says) in [
            ("empty", r#"{"apps": []}"#, "is empty"),
            (
                "appid",
                r#"{"apps": [{"appid": "wx/../x", "token": "t", "app_secret": "s"}]}"#,
                "apps[0]: appid \"wx/../x\" is not an AppID",
            ),
            (
                "twice",
                r#"{"apps": [{"appid": "wxaaaaaaaaaaaaaaaa", "token": "t", "app_secret": "s"},
                             {"appid": "wxaaaaaaaaaaaaaaaa", "token": "t", "app_secret": "s"}]}"#,
                "apps[1] (wxaaaaaaaaaaaaaaaa): appid listed twice",
            ),
            (
                "key",
                r#"{"apps": [{"appid": "wxaaaaaaaaaaaaaaaa", "token": "t", "app_secret": "s", "encoding_aes_key": "short-secret"}]}"#,
                "apps[0] (wxaaaaaaaaaaaaaaaa): encoding_aes_key: the EncodingAESKey is 12 characters, it must be 43",
            ),
            (
                "rules",
                r#"{"apps": [{"appid": "wxaaaaaaaaaaaaaaaa", "token": "t", "app_secret": "s", "rules": "nope.json"}]}"#,
                "nope.json does not exist",
            ),
            (
                "shape",
                r#"{"apps": [{"appid": "wxaaaaaaaaaaaaaaaa", "token": "top-secret-token", "app_secret": 5}]}"#,
                "not an apps file (line 1",
            ),
        ] {
            let path = write(name, text);
            let err = load(&path).unwrap_err().to_string();
            assert!(err.contains(says), "{name}: {err}");
            for secret in ["short-secret", "top-secret-token", key] {
                assert!(!err.contains(secret), "{name}: {err}");
            }
        }
    }
}
