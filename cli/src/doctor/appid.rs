//! The AppID's check: WeChat's form, as the template's `AppId` parameter requires it.

use kefu::protocol::settings::AppId;

use super::check::{Check, SETTINGS, Status, shorten};

/// `wx` and 16 letters or digits, as the template's `AppId` parameter requires.
pub(super) fn check_appid(appid: &str) -> Check {
    if appid.is_empty() {
        return Check::new(
            "appid",
            Status::Fail,
            format!("none given: --appid or KEFU_APPID (the AppID in {SETTINGS})"),
        );
    }
    if AppId::parse(appid).is_ok() {
        Check::new("appid", Status::Ok, appid)
    } else {
        Check::new(
            "appid",
            Status::Fail,
            format!(
                "{:?} ({} characters) is not an AppID: wx and 16 letters or digits, as {SETTINGS} shows it",
                shorten(appid, 40),
                appid.chars().count()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appids_are_wx_and_16_letters_or_digits() {
        assert_eq!(check_appid("wx5ea1c0de5ea1c0de").status, Status::Ok);
        for bad in ["", "wx123", "gh_5ea1c0de5ea1", "wx5ea1c0de5ea1c0d!"] {
            assert_eq!(check_appid(bad).status, Status::Fail, "{bad}");
        }
    }
}
