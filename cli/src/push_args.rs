//! What `kefu push`, `kefu event` and `kefu dev` have in common: the simulated user's message, the
//! credentials it is signed with (the documented sample by default), and the mode and format.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use kefu::protocol::simulate::{self, Header, Payload, Signer, SimulatedPush};
use kefu::protocol::{AesKey, Format, Mode, Token};
use kefu::sample;
use kefu::secret::SecretString;

use crate::text::parse_field;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Plaintext,
    Compatible,
    Safe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Xml,
    Json,
}

/// The deployment's message-push credentials: the documented sample unless given. Shared by
/// `kefu dev` (which checks pushes with them) and `kefu push`/`event` (which sign with them).
#[derive(Debug, Args)]
pub struct CredentialArgs {
    /// Token (default: the documented sample).
    #[arg(long, env = "KEFU_TOKEN", hide_env_values = true, default_value = sample::TOKEN, global = true)]
    pub token: SecretString,
    /// EncodingAESKey (default: the documented sample).
    #[arg(long, env = "KEFU_AES_KEY", hide_env_values = true, default_value = sample::ENCODING_AES_KEY, global = true)]
    pub aes_key: SecretString,
    /// AppID, sealed into encrypted messages (default: the documented sample).
    #[arg(long, env = "KEFU_APPID", default_value = sample::APPID, global = true)]
    pub appid: String,
}

impl CredentialArgs {
    pub fn token(&self) -> Token {
        Token::new(self.token.clone())
    }

    pub fn key(&self) -> anyhow::Result<AesKey> {
        crate::aes_key::parse(&self.aes_key, "--aes-key")
    }
}

/// Who signs the push and how it is framed.
#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// 消息加解密方式.
    #[arg(long, value_enum, default_value_t = ModeArg::Safe, global = true)]
    pub mode: ModeArg,
    /// 数据格式.
    #[arg(long, value_enum, default_value_t = FormatArg::Json, global = true)]
    pub format: FormatArg,
    /// The mini program's original id (ToUserName).
    #[arg(long, default_value = sample::ORIGINAL_ID, global = true)]
    pub to: String,
    /// The user's openid (FromUserName).
    #[arg(long, default_value = sample::OPENID, global = true)]
    pub openid: String,
    /// Timestamp in seconds (default: now). Fixed values give reproducible output.
    #[arg(long, global = true)]
    pub timestamp: Option<i64>,
    /// Nonce (default: random digits).
    #[arg(long, global = true)]
    pub nonce: Option<String>,
    /// 16 characters of AES randomness (default: fresh).
    #[arg(long, global = true)]
    pub random: Option<String>,
    /// MsgId of a user message (default: derived from the timestamp and nonce).
    #[arg(long, global = true)]
    pub msg_id: Option<u64>,
    /// Sign as the app --appid of this apps file (`kefu dev --apps`): its Token and
    /// EncodingAESKey instead of --token and --aes-key.
    #[arg(long, env = "KEFU_APPS_FILE", global = true)]
    pub apps: Option<PathBuf>,
}

/// What the simulated user does.
#[derive(Debug, Clone, Subcommand)]
pub enum MessageArg {
    /// A text message.
    Text { content: String },
    /// An image message.
    Image {
        #[arg(long, default_value = "https://example.com/photo.jpg")]
        pic_url: String,
        #[arg(long, default_value = "sample_media_id")]
        media_id: String,
    },
    /// A mini program card (小程序卡片).
    Miniprogrampage {
        #[arg(long, default_value = "商品详情")]
        title: String,
        #[arg(long, default_value = "pages/index/index")]
        page_path: String,
        #[arg(long, default_value = "https://example.com/thumb.jpg")]
        thumb_url: String,
        #[arg(long, default_value = "sample_thumb_media_id")]
        thumb_media_id: String,
    },
    /// A link message.
    Link {
        #[arg(long, default_value = "示例链接")]
        title: String,
        #[arg(long, default_value = "链接描述")]
        description: String,
        #[arg(long, default_value = "https://example.com/article")]
        url: String,
    },
    /// The user opens the conversation (user_enter_tempsession).
    Enter {
        #[arg(long, default_value = "sample-button")]
        session_from: String,
    },
    /// Any other event, with FIELD=VALUE extras.
    Event {
        name: String,
        #[arg(value_parser = parse_field)]
        fields: Vec<(String, String)>,
    },
}

impl FormatArg {
    /// The Content-Type WeChat sends with a body of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Xml => "text/xml",
            Self::Json => "application/json",
        }
    }
}

impl PushArgs {
    pub fn format(&self) -> Format {
        match self.format {
            FormatArg::Xml => Format::Xml,
            FormatArg::Json => Format::Json,
        }
    }

    pub fn mode(&self) -> Mode {
        match self.mode {
            ModeArg::Plaintext => Mode::Plaintext,
            ModeArg::Compatible => Mode::Compatible,
            ModeArg::Safe => Mode::Safe,
        }
    }

    pub fn timestamp(&self) -> i64 {
        self.timestamp.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .unwrap_or(0)
        })
    }

    pub fn nonce(&self) -> anyhow::Result<String> {
        match &self.nonce {
            Some(nonce) => Ok(nonce.clone()),
            None => Ok((u64::from_le_bytes(random_bytes()?) % 10_000_000_000).to_string()),
        }
    }

    pub fn random(&self) -> anyhow::Result<[u8; 16]> {
        match &self.random {
            Some(given) => given.as_bytes().try_into().map_err(|_| {
                anyhow::anyhow!("--random must be exactly 16 bytes, got {}", given.len())
            }),
            None => random_bytes(),
        }
    }

    /// The plaintext message body, as WeChat renders it.
    pub fn plaintext(&self, message: &MessageArg) -> anyhow::Result<String> {
        let (header, payload) = self.message(message, &self.nonce()?);
        Ok(simulate::render(&header, &payload, self.format()))
    }

    fn message(&self, message: &MessageArg, nonce: &str) -> (Header, Payload) {
        let timestamp = self.timestamp();
        let msg_id = self.msg_id.unwrap_or_else(|| {
            let nonce_part: u64 = nonce
                .bytes()
                .fold(0, |acc, b| acc.wrapping_mul(31).wrapping_add(u64::from(b)));
            u64::try_from(timestamp)
                .unwrap_or(0)
                .wrapping_mul(10_000_000)
                .wrapping_add(nonce_part % 10_000_000)
        });
        let header = Header {
            to_user_name: self.to.clone(),
            from_user_name: self.openid.clone(),
            create_time: timestamp,
        };
        (header, message.payload(msg_id, &self.credentials.appid))
    }

    /// The Token and (unless plaintext) the AES key the push is signed and sealed with: the
    /// app's in the apps file (`--apps`), else --token and --aes-key.
    fn signing_keys(&self) -> anyhow::Result<(Token, Option<AesKey>)> {
        let plaintext = self.mode() == Mode::Plaintext;
        let Some(file) = &self.apps else {
            let key = if plaintext {
                None
            } else {
                Some(self.credentials.key()?)
            };
            return Ok((self.credentials.token(), key));
        };
        let apps = crate::apps_file::load(file)?;
        let appid = &self.credentials.appid;
        let Some(app) = apps.iter().find(|app| &app.appid == appid) else {
            let listed: Vec<&str> = apps.iter().map(|app| app.appid.as_str()).collect();
            anyhow::bail!(
                "--appid {appid} is not in {} (it has {}): pick one with --appid",
                file.display(),
                listed.join(", ")
            );
        };
        let key = match (&app.aes_key, plaintext) {
            (_, true) => None,
            (Some(key), false) => Some(key.clone()),
            (None, false) => anyhow::bail!(
                "{appid} has no encoding_aes_key in {}: it takes plaintext pushes (--mode plaintext)",
                file.display()
            ),
        };
        Ok((Token::new(app.token.clone()), key))
    }

    /// The push URL: `url`, or with `--apps` and the default URL, the app's own
    /// (`…/wechat/{appid}`).
    pub fn push_url(&self, url: &str, default: &str) -> String {
        if self.apps.is_some() && url == default {
            format!("{url}/{}", self.credentials.appid)
        } else {
            url.to_owned()
        }
    }

    /// Builds the push WeChat would send for `message`.
    pub fn build(&self, message: &MessageArg) -> anyhow::Result<SimulatedPush> {
        let timestamp = self.timestamp();
        let nonce = self.nonce()?;
        let (header, payload) = self.message(message, &nonce);
        let plain = simulate::render(&header, &payload, self.format());
        let (token, key) = self.signing_keys()?;
        let signer = Signer {
            token: &token,
            key: key.as_ref(),
            appid: &self.credentials.appid,
        };
        Ok(simulate::seal_push(
            &signer,
            &header,
            &plain,
            self.format(),
            self.mode(),
            &timestamp.to_string(),
            &nonce,
            &self.random()?,
        )?)
    }
}

impl MessageArg {
    pub fn payload(&self, msg_id: u64, appid: &str) -> Payload {
        match self.clone() {
            Self::Text { content } => Payload::Text { content, msg_id },
            Self::Image { pic_url, media_id } => Payload::Image {
                pic_url,
                media_id,
                msg_id,
            },
            Self::Miniprogrampage {
                title,
                page_path,
                thumb_url,
                thumb_media_id,
            } => Payload::MiniProgramPage {
                title,
                app_id: appid.to_owned(),
                page_path,
                thumb_url,
                thumb_media_id,
                msg_id,
            },
            Self::Link {
                title,
                description,
                url,
            } => Payload::Link {
                title,
                description,
                url,
                msg_id,
            },
            Self::Enter { session_from } => Payload::Event {
                event: "user_enter_tempsession".into(),
                fields: vec![("SessionFrom".into(), session_from)],
            },
            Self::Event { name, fields } => Payload::Event {
                event: name,
                fields,
            },
        }
    }
}

/// `--random`: 16 characters as the AES randomness, or fresh randomness when not given.
pub fn parse_random(given: Option<&str>) -> anyhow::Result<[u8; 16]> {
    match given {
        Some(given) => given
            .as_bytes()
            .try_into()
            .map_err(|_| anyhow::anyhow!("--random must be exactly 16 bytes, got {}", given.len())),
        None => random_bytes(),
    }
}

fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("reading randomness from the OS: {e}"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        push: PushArgs,
    }

    #[test]
    fn with_an_apps_file_the_default_url_is_the_apps_own() {
        const DEFAULT: &str = "http://127.0.0.1:8080/wechat";
        let cli = Cli::try_parse_from(["kefu", "--apps", "a.json", "--appid", "wxa"]).unwrap();
        assert_eq!(
            cli.push.push_url(DEFAULT, DEFAULT),
            format!("{DEFAULT}/wxa")
        );
        assert_eq!(
            cli.push.push_url("http://h/kf/wxb", DEFAULT),
            "http://h/kf/wxb",
            "a URL given is kept"
        );
        let cli = Cli::try_parse_from(["kefu", "--appid", "wxa"]).unwrap();
        assert_eq!(cli.push.push_url(DEFAULT, DEFAULT), DEFAULT);
    }
}
