//! Passive replies: what the HTTP response to a push may carry.
//!
//! A mini program accepts only two: `success` (or an empty body), never encrypted, and
//! `transfer_customer_service`, which hands the user to a human agent. The transfer must be in
//! the push's own format (XML or JSON) and, in safe mode, sealed in an
//! `{Encrypt, MsgSignature, TimeStamp, Nonce}` envelope; anything else shows the user
//! 「该小程序提供的服务出现故障」. Text and image answers go out through custom/send instead.

use serde::{Deserialize, Serialize};

use super::aes_frame::{AesKey, CryptoError};
use super::message::{Format, Message, ParseError};
use super::signature::{Signature, Token};
use super::xml;

/// The acknowledgement WeChat expects; sent in clear in every mode.
pub const SUCCESS: &str = "success";

/// `MsgType` of the hand-off reply.
const TRANSFER: &str = "transfer_customer_service";

/// The plaintext `transfer_customer_service` reply to `message`: addressed back to the user
/// (`ToUserName` = their openid) from the mini program (`FromUserName` = its `gh_` id).
pub fn transfer_customer_service(message: &Message, format: Format, create_time: i64) -> String {
    let to = message.from_user_name.as_str();
    let from = message.to_user_name.as_str();
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

/// A sealed reply as [`seal`] writes it, read back (as WeChat reads it): for tools that check a
/// deployment's passive answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SealedReply {
    pub encrypt: String,
    pub msg_signature: String,
    /// A number in JSON, text in XML.
    #[serde(deserialize_with = "number_or_text")]
    pub time_stamp: String,
    pub nonce: String,
}

impl SealedReply {
    /// Reads the `{Encrypt, MsgSignature, TimeStamp, Nonce}` envelope of an XML or JSON body.
    pub fn read(body: &str) -> Result<Self, ParseError> {
        match Format::sniff(body) {
            Some(Format::Json) => {
                serde_json::from_str(body).map_err(|e| ParseError::Json(e.to_string()))
            }
            Some(Format::Xml) => {
                let mut fields = xml::all_fields(body)?;
                let mut take =
                    |name: &'static str| fields.remove(name).ok_or(ParseError::MissingField(name));
                Ok(Self {
                    encrypt: take("Encrypt")?,
                    msg_signature: take("MsgSignature")?,
                    time_stamp: take("TimeStamp")?,
                    nonce: take("Nonce")?,
                })
            }
            // `success`, or any other text: no envelope.
            None => Err(ParseError::MissingField("Encrypt")),
        }
    }

    /// Whether `MsgSignature` signs `Encrypt` with `token`, `TimeStamp` and `Nonce`.
    pub fn verify(&self, token: &Token) -> Result<(), CryptoError> {
        Signature::of_message(token, &self.time_stamp, &self.nonce, &self.encrypt)
            .verify(&self.msg_signature)
    }
}

fn number_or_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrText {
        Number(i64),
        Text(String),
    }
    Ok(match NumberOrText::deserialize(deserializer)? {
        NumberOrText::Number(n) => n.to_string(),
        NumberOrText::Text(text) => text,
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

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn a_sealed_reply_reads_back_in_both_formats_and_its_signature_checks() {
        let token = Token::new("AAAAA");
        let key = AesKey::from_encoding_aes_key(KEY).unwrap_or_else(|e| panic!("{e}"));
        let seal_with = Seal {
            token: &token,
            key: &key,
            appid: "wxba5fad812f8e6fb9",
            timestamp: 1_714_112_445,
            nonce: "415670741",
            random: &[7; 16],
        };
        for format in [Format::Xml, Format::Json] {
            let sealed = seal("transfer", format, &seal_with).unwrap_or_else(|e| panic!("{e}"));
            let read = SealedReply::read(&sealed).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_eq!(read.time_stamp, "1714112445");
            assert_eq!(read.nonce, "415670741");
            assert_eq!(read.verify(&token), Ok(()));
            assert_eq!(
                read.verify(&Token::new("BBBBB")),
                Err(CryptoError::SignatureMismatch)
            );
            assert_eq!(
                key.decrypt("wxba5fad812f8e6fb9", &read.encrypt).as_deref(),
                Ok("transfer")
            );
        }
        assert_eq!(
            SealedReply::read("<xml><Encrypt>x</Encrypt></xml>"),
            Err(ParseError::MissingField("MsgSignature"))
        );
        assert!(SealedReply::read("success").is_err());
    }
}
