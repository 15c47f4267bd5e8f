//! WeChat's error codes as the sandbox answers them: the code and the message WeChat puts
//! beside it (protocol doc §6.5). Real messages end with a request id (` rid: …`), so clients
//! must decide on `errcode`, never on `errmsg`; the sandbox appends one too.

pub(super) const SYSTEM_ERROR: i64 = -1;
pub(super) const OK: i64 = 0;
pub(super) const INVALID_CREDENTIAL: i64 = 40001;
pub(super) const INVALID_GRANT_TYPE: i64 = 40002;
pub(super) const INVALID_MEDIA_TYPE: i64 = 40004;
pub(super) const INVALID_MEDIA_SIZE: i64 = 40006;
pub(super) const INVALID_MEDIA_ID: i64 = 40007;
pub(super) const INVALID_MESSAGE_TYPE: i64 = 40008;
pub(super) const INVALID_APPID: i64 = 40013;
pub(super) const INVALID_APPSECRET: i64 = 40125;
pub(super) const IP_NOT_WHITELISTED: i64 = 40164;
pub(super) const ACCESS_TOKEN_MISSING: i64 = 41001;
pub(super) const APPID_MISSING: i64 = 41002;
pub(super) const APPSECRET_MISSING: i64 = 41004;
pub(super) const MEDIA_DATA_MISSING: i64 = 41005;
pub(super) const ACCESS_TOKEN_EXPIRED: i64 = 42001;
pub(super) const EMPTY_CONTENT: i64 = 44004;
pub(super) const DAILY_QUOTA: i64 = 45009;
pub(super) const MINUTE_QUOTA: i64 = 45011;
pub(super) const OUT_OF_TIME_LIMIT: i64 = 45015;
pub(super) const OUT_OF_RESPONSE_COUNT: i64 = 45047;
pub(super) const BAD_TYPING_COMMAND: i64 = 45072;
pub(super) const NO_RECENT_INTERACTION: i64 = 45080;
pub(super) const ALREADY_TYPING: i64 = 45081;
pub(super) const DATA_FORMAT_ERROR: i64 = 47001;

/// The message WeChat sends with `code` (without the request id).
pub(super) fn message(code: i64) -> &'static str {
    match code {
        SYSTEM_ERROR => "system error",
        OK => "ok",
        INVALID_CREDENTIAL => "invalid credential, access_token is invalid or not latest",
        INVALID_GRANT_TYPE => "invalid grant_type",
        INVALID_MEDIA_TYPE => "invalid media type",
        INVALID_MEDIA_SIZE => "invalid media size",
        INVALID_MEDIA_ID => "invalid media_id",
        INVALID_MESSAGE_TYPE => "invalid message type",
        INVALID_APPID => "invalid appid",
        40014 => "invalid access_token",
        INVALID_APPSECRET => "invalid appsecret",
        IP_NOT_WHITELISTED => "invalid ip, not in whitelist",
        ACCESS_TOKEN_MISSING => "access_token missing",
        APPID_MISSING => "appid missing",
        APPSECRET_MISSING => "appsecret missing",
        MEDIA_DATA_MISSING => "media data missing",
        ACCESS_TOKEN_EXPIRED => "access_token expired",
        EMPTY_CONTENT => "empty content",
        DAILY_QUOTA => "reach max api daily quota limit",
        MINUTE_QUOTA => "api minute-quota reach limit mustslower retry next minute",
        OUT_OF_TIME_LIMIT => "response out of time limit or subscription is canceled",
        OUT_OF_RESPONSE_COUNT => "out of response count limit",
        BAD_TYPING_COMMAND => "invalid command",
        NO_RECENT_INTERACTION => "no interaction with the user in the last 30 seconds",
        ALREADY_TYPING => "already typing",
        DATA_FORMAT_ERROR => "data format error",
        48001 => "api unauthorized",
        _ => "sandbox injected error",
    }
}

/// WeChat's 40164 message: the caller's address as WeChat saw it, IPv4 also written as an
/// IPv4-mapped IPv6 address (without the request id).
pub(super) fn ip_not_whitelisted(caller: std::net::IpAddr) -> String {
    let v6 = match caller {
        std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().to_string(),
        std::net::IpAddr::V6(v6) => v6.to_string(),
    };
    format!("invalid ip {caller} ipv6 {v6}, not in whitelist")
}
