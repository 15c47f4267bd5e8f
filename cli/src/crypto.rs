//! `kefu sign`, `kefu decrypt`, `kefu encrypt`: the protocol core's crypto on the command line,
//! for checking a captured push or producing one by hand. Secrets may come from the environment
//! (`KEFU_TOKEN` for `sign`, `KEFU_AES_KEY`) to keep them out of shell history; help never shows their values.

use std::io::Read as _;

use anyhow::{Context as _, bail};
use clap::Args;
use kefu::protocol::{Signature, Token, push};
use kefu::secret::SecretString;

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The Token configured for message push.
    #[arg(long, env = "KEFU_TOKEN", hide_env_values = true)]
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
    /// The 43-character EncodingAESKey.
    #[arg(long, env = "KEFU_AES_KEY", hide_env_values = true)]
    aes_key: SecretString,
    /// The mini program's AppID; the message must carry it.
    #[arg(long, env = "KEFU_APPID")]
    appid: String,
    /// The Encrypt field; read from stdin when omitted.
    #[arg(long)]
    encrypt: Option<String>,
    /// Verify msg_signature with this Token before decrypting (with --timestamp, --nonce, --msg-signature).
    #[arg(long, requires_all = ["timestamp", "nonce", "msg_signature"])]
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
    /// The 43-character EncodingAESKey.
    #[arg(long, env = "KEFU_AES_KEY", hide_env_values = true)]
    aes_key: SecretString,
    /// The mini program's AppID, sealed into the message.
    #[arg(long, env = "KEFU_APPID")]
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
    let input = input.trim();
    let encrypt = if input.starts_with('<') || input.starts_with('{') {
        push::encrypt_field(input)?.context("the body has no Encrypt field")?
    } else {
        input.to_owned()
    };
    if encrypt.is_empty() {
        bail!("no Encrypt field given (use --encrypt or stdin)");
    }
    if let (Some(token), Some(timestamp), Some(nonce), Some(presented)) = (
        &args.token,
        &args.timestamp,
        &args.nonce,
        &args.msg_signature,
    ) {
        Signature::of_message(&Token::new(token.clone()), timestamp, nonce, &encrypt)
            .verify(presented)?;
    }
    Ok(key.decrypt(&args.appid, &encrypt)?)
}

pub fn encrypt(args: &EncryptArgs) -> anyhow::Result<String> {
    let key = crate::aes_key::parse(&args.aes_key, "--aes-key")?;
    let random = crate::push_args::parse_random(args.random.as_deref())?;
    Ok(key.encrypt(&args.appid, args.message.as_bytes(), &random)?)
}
