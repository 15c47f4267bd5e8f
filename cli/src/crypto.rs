//! `kefu sign`, `kefu decrypt`, `kefu encrypt`: the protocol core's crypto on the command line,
//! for checking a captured push or producing one by hand. The credentials default to the
//! documented sample deployment, as `kefu push` and `kefu dev` do; real ones may come from the
//! environment (`KEFU_TOKEN` for `sign`, `KEFU_AES_KEY`, `KEFU_APPID`) to keep them out of shell
//! history; help never shows their values. `decrypt` takes an Encrypt field, a whole push body
//! or a whole API Gateway event (`events/*.json`, as `sam local invoke` reads it).

use std::io::Read as _;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use clap::Args;
use kefu::protocol::{Signature, Token, push};
use kefu::sample;
use kefu::secret::SecretString;

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The Token configured for message push (default: the documented sample).
    #[arg(long, env = "KEFU_TOKEN", hide_env_values = true, default_value = sample::TOKEN)]
    token: SecretString,
    /// The push URL's timestamp.
    #[arg(long)]
    timestamp: String,
    /// The push URL's nonce.
    #[arg(long)]
    nonce: String,
    /// Sign an Encrypt field too (msg_signature) instead of the URL alone (signature).
    #[arg(long)]
    encrypt: Option<String>,
}

#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The 43-character EncodingAESKey (default: the documented sample).
    #[arg(long, env = "KEFU_AES_KEY", hide_env_values = true, default_value = sample::ENCODING_AES_KEY)]
    aes_key: SecretString,
    /// The mini program's AppID; the message must carry it (default: the documented sample).
    #[arg(long, env = "KEFU_APPID", default_value = sample::APPID)]
    appid: String,
    /// The Encrypt field; read from stdin when omitted (a push body or an API Gateway event
    /// also works there).
    #[arg(long)]
    encrypt: Option<String>,
    /// Verify msg_signature with this Token before decrypting (with --timestamp, --nonce,
    /// --msg-signature, which an API Gateway event on stdin carries in its query).
    #[arg(long)]
    token: Option<SecretString>,
    /// The push URL's timestamp (for verification).
    #[arg(long, requires = "token")]
    timestamp: Option<String>,
    /// The push URL's nonce (for verification).
    #[arg(long, requires = "token")]
    nonce: Option<String>,
    /// The push URL's msg_signature (for verification).
    #[arg(long, requires = "token")]
    msg_signature: Option<String>,
}

#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// The 43-character EncodingAESKey (default: the documented sample).
    #[arg(long, env = "KEFU_AES_KEY", hide_env_values = true, default_value = sample::ENCODING_AES_KEY)]
    aes_key: SecretString,
    /// The mini program's AppID, sealed into the message (default: the documented sample).
    #[arg(long, env = "KEFU_APPID", default_value = sample::APPID)]
    appid: String,
    /// The plaintext message (XML or JSON as WeChat would send it).
    #[arg(long)]
    message: String,
    /// The 16 random bytes, as a 16-character string; fresh randomness when omitted.
    #[arg(long)]
    random: Option<String>,
}

pub fn sign(args: &SignArgs) -> anyhow::Result<String> {
    let token = Token::new(args.token.clone());
    let signature = match &args.encrypt {
        Some(encrypt) => Signature::of_message(&token, &args.timestamp, &args.nonce, encrypt),
        None => Signature::of_url(&token, &args.timestamp, &args.nonce),
    };
    Ok(signature.to_hex())
}

pub fn decrypt(args: &DecryptArgs) -> anyhow::Result<String> {
    let key = crate::aes_key::parse(&args.aes_key, "--aes-key")?;
    let input = match &args.encrypt {
        Some(encrypt) => encrypt.clone(),
        None => {
            let mut stdin = String::new();
            std::io::stdin()
                .read_to_string(&mut stdin)
                .context("reading the Encrypt field from stdin")?;
            stdin
        }
    };
    let opened = open_input(input.trim())?;
    if let Some(token) = &args.token {
        let (Some(timestamp), Some(nonce), Some(presented)) = (
            args.timestamp.as_ref().or(opened.query.timestamp.as_ref()),
            args.nonce.as_ref().or(opened.query.nonce.as_ref()),
            args.msg_signature
                .as_ref()
                .or(opened.query.msg_signature.as_ref()),
        ) else {
            bail!(
                "--token verifies msg_signature: --timestamp, --nonce and --msg-signature are \
                 required (an API Gateway event on stdin carries them in its query)"
            );
        };
        if opened.encrypt.is_empty() {
            bail!("no Encrypt field given (use --encrypt or stdin)");
        }
        Signature::of_message(
            &Token::new(token.clone()),
            timestamp,
            nonce,
            &opened.encrypt,
        )
        .verify(presented)?;
    }
    if opened.encrypt.is_empty() {
        bail!("no Encrypt field given (use --encrypt or stdin)");
    }
    Ok(key.decrypt(&args.appid, &opened.encrypt)?)
}

/// What `decrypt` was handed, opened: the Encrypt field, and the push URL's query when an API
/// Gateway event carried one.
#[derive(Debug, Default)]
struct Opened {
    encrypt: String,
    query: Query,
}

#[derive(Debug, Default)]
struct Query {
    timestamp: Option<String>,
    nonce: Option<String>,
    msg_signature: Option<String>,
}

/// An Encrypt field as it is, the Encrypt field of an XML or JSON push body, or that of the body
/// of an API Gateway event (a JSON object whose `body` is a string, base64 when
/// `isBase64Encoded`) with the event's query.
fn open_input(input: &str) -> anyhow::Result<Opened> {
    if !(input.starts_with('<') || input.starts_with('{')) {
        return Ok(Opened {
            encrypt: input.to_owned(),
            query: Query::default(),
        });
    }
    if input.starts_with('{')
        && let Ok(serde_json::Value::Object(event)) = serde_json::from_str(input)
        && (event.contains_key("requestContext") || event.contains_key("isBase64Encoded"))
        && !event.contains_key("Encrypt")
    {
        let body = match event.get("body") {
            Some(serde_json::Value::String(body)) => body.clone(),
            _ => bail!(
                "the API Gateway event has no body (a GET, like URL verification, carries no Encrypt field)"
            ),
        };
        let body = if event.get("isBase64Encoded") == Some(&serde_json::Value::Bool(true)) {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(body.trim())
                .context("the event's body is marked isBase64Encoded but is not base64")?;
            String::from_utf8(bytes).context("the event's base64 body is not UTF-8 text")?
        } else {
            body
        };
        let query = event.get("queryStringParameters");
        let field = |name: &str| {
            query
                .and_then(|q| q.get(name))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let encrypt = push::encrypt_field(body.trim())?.context(
            "the event's body has no Encrypt field (a plaintext-mode push needs no decrypting)",
        )?;
        return Ok(Opened {
            encrypt,
            query: Query {
                timestamp: field("timestamp"),
                nonce: field("nonce"),
                msg_signature: field("msg_signature"),
            },
        });
    }
    Ok(Opened {
        encrypt: push::encrypt_field(input)?.context("the body has no Encrypt field")?,
        query: Query::default(),
    })
}

pub fn encrypt(args: &EncryptArgs) -> anyhow::Result<String> {
    let key = crate::aes_key::parse(&args.aes_key, "--aes-key")?;
    let random = crate::push_args::parse_random(args.random.as_deref())?;
    Ok(key.encrypt(&args.appid, args.message.as_bytes(), &random)?)
}
