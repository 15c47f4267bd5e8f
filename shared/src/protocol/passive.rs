//! Passive replies: what the HTTP response to a push may carry.
//!
//! A mini program accepts only two: `success` (or an empty body), never encrypted, and
//! `transfer_customer_service`, which hands the user to a human agent. The transfer must be in
//! the push's own format (XML or JSON) and, in safe mode, sealed in an
//! `{Encrypt, MsgSignature, TimeStamp, Nonce}` envelope; anything else shows the user
//! 「该小程序提供的服务出现故障」. Text and image answers go out through custom/send instead.

use serde::Serialize;

use super::aes_frame::{AesKey, CryptoError};
use super::message::{Format, Message};
use super::signature::{Signature, Token};

/// The acknowledgement WeChat expects; sent in clear in every mode.
pub const SUCCESS: &str = "success";

/// `MsgType` of the hand-off reply.
const TRANSFER: &str = "transfer_customer_service";

/// The plaintext `transfer_customer_service` reply to `message`: addressed back to the user
/// (`ToUserName` = their openid) from the mini program (`FromUserName` = its `gh_` id).
pub fn transfer_customer_service(message: &Message, format: Format, create_time: i64) -> String {
    let to = &message.from_user_name;
    let from = &message.to_user_name;
    match format {
        Format::Xml => format!(
            "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName>\
             <CreateTime>{create_time}</CreateTime><MsgType>{}</MsgType></xml>",
            cdata(to),
            cdata(from),
            cdata(TRANSFER)
        ),
        Format::Json => {
            #[derive(Serialize)]
            #[serde(rename_all = "PascalCase")]
            struct Transfer<'a> {
                to_user_name: &'a str,
                from_user_name: &'a str,
                create_time: i64,
                msg_type: &'a str,
            }
            json(&Transfer {
                to_user_name: to,
                from_user_name: from,
                create_time,
                msg_type: TRANSFER,
            })
        }
    }
}

/// What sealing a reply needs besides the reply itself.
#[derive(Debug, Clone, Copy)]
pub struct Seal<'a> {
    pub token: &'a Token,
    pub key: &'a AesKey,
    pub appid: &'a str,
    /// Our current time, in seconds.
    pub timestamp: i64,
    /// Echoes the push's `nonce`.
    pub nonce: &'a str,
    pub random: &'a [u8; 16],
}

/// Seals a plaintext reply in the safe-mode envelope of `format`.
pub fn seal(reply: &str, format: Format, seal: &Seal<'_>) -> Result<String, CryptoError> {
    let encrypt = seal
        .key
        .encrypt(seal.appid, reply.as_bytes(), seal.random)?;
    let timestamp = seal.timestamp.to_string();
    let signature = Signature::of_message(seal.token, &timestamp, seal.nonce, &encrypt).to_hex();
    Ok(match format {
        Format::Xml => format!(
            "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature>\
             <TimeStamp>{timestamp}</TimeStamp><Nonce>{}</Nonce></xml>",
            cdata(&encrypt),
            cdata(&signature),
            cdata(seal.nonce)
        ),
        Format::Json => {
            #[derive(Serialize)]
            #[serde(rename_all = "PascalCase")]
            struct SealedReply<'a> {
                encrypt: &'a str,
                msg_signature: &'a str,
                time_stamp: i64,
                nonce: &'a str,
            }
            json(&SealedReply {
                encrypt: &encrypt,
                msg_signature: &signature,
                time_stamp: seal.timestamp,
                nonce: seal.nonce,
            })
        }
    })
}

/// A CDATA section; a `]]>` inside the value is split across two sections.
pub(crate) fn cdata(value: &str) -> String {
    format!("<![CDATA[{}]]>", value.replace("]]>", "]]]]><![CDATA[>"))
}

fn json(value: &impl Serialize) -> String {
    // Serialising a struct of strings and integers cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}
