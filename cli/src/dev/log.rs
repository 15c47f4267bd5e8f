//! `kefu dev` explains itself: the functions' log events (JSON lines in a deployment) become
//! one human-readable line each on the terminal — refusals with their reason, quota skips,
//! WeChat's refusals, retries, rules that failed to load — and a notice in the chat window.
//! Events nobody needs while developing (typing indicators, token refreshes) stay quiet unless
//! `RUST_LOG` asks for them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level as TraceLevel, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::prelude::*;

use super::console;
use super::timeline::{Level, Timeline};

tokio::task_local! {
    /// Set while the push path handles a push (`PushPath::deliver`): its refusal line goes into
    /// the push's record, shown once with the push, rather than into a notice of its own.
    pub(super) static REFUSAL: RefCell<Option<String>>;
}

/// Installs the terminal log for this process. `rules_from_file`: rules reloads are reported by
/// the file watcher, so the cache's own reload warning is not repeated.
pub(super) fn install(timeline: Timeline, rules_from_file: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("kefu=info,kefu_cli=info,kefu_sandbox=info")
    });
    let layer = DevLog {
        timeline,
        rules_from_file,
        verbose: std::env::var_os("RUST_LOG").is_some(),
    };
    // A second install (tests run `dev` once per process) keeps the first.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(layer)
        .try_init();
    // The metric lines are for CloudWatch; on a terminal the lines above say the same in words.
    kefu::metrics::set_enabled(false);
}

struct DevLog {
    timeline: Timeline,
    rules_from_file: bool,
    verbose: bool,
}

#[derive(Default)]
struct Fields(BTreeMap<&'static str, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }
}

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

impl<S: Subscriber> Layer<S> for DevLog {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let Some((level, openid, text)) = self.describe(*event.metadata().level(), &fields) {
            console::say(level, &text);
            let refusal = matches!(fields.get("message"), "push rejected" | "push failed");
            let kept = refusal
                && REFUSAL
                    .try_with(|line| line.borrow_mut().replace(text.clone()))
                    .is_ok();
            if !kept {
                self.timeline.notice(openid, level, text);
            }
        }
    }
}

impl DevLog {
    /// One line for an event, or `None` to stay quiet.
    fn describe(
        &self,
        level: TraceLevel,
        fields: &Fields,
    ) -> Option<(Level, Option<String>, String)> {
        let reason = fields.get("reason");
        let user = |key: &str| self.timeline.user_of(fields.get(key));
        let to = |openid: &Option<String>| {
            openid
                .as_deref()
                .map(|o| format!(" to {o}"))
                .unwrap_or_default()
        };
        let line = match fields.get("message") {
            // The push path's accepted pushes are shown by the push route, with the user.
            "push handled" => return None,
            "push rejected" => (
                Level::Warn,
                None,
                format!(
                    "push refused: HTTP {} {reason}{}",
                    fields.get("status"),
                    refusal_hint(reason)
                ),
            ),
            "push failed" => (
                Level::Error,
                None,
                format!(
                    "push failed: HTTP {} ({reason}); WeChat would retry it",
                    fields.get("status")
                ),
            ),
            "rules reload failed; keeping the last good set" if self.rules_from_file => {
                return None;
            }
            "rules reload failed; keeping the last good set" => (
                Level::Error,
                None,
                format!(
                    "rules reload failed, the last good set stays in use: {}",
                    fields.get("error")
                ),
            ),
            "send skipped: over the user's quota" => {
                let openid = user("send");
                let text = format!(
                    "quota: a reply{} was not sent — WeChat allows 5 messages in the 48 h after a user message (2 in the minute after entering), and they are used up",
                    to(&openid)
                );
                (Level::Warn, openid, text)
            }
            "send refused: quota exhausted" => {
                let openid = user("send");
                let text = format!("quota: WeChat refused a reply{}: {reason}", to(&openid));
                (Level::Warn, openid, text)
            }
            // The image a rule names could not be used: WeChat was never asked.
            "send refused for good" if reason.starts_with("image: ") => {
                let openid = user("send");
                let text = format!(
                    "a reply{} was not sent: {}",
                    to(&openid),
                    image_problem(reason)
                );
                (Level::Error, openid, text)
            }
            "send refused for good" => {
                let openid = user("send");
                let text = format!("WeChat refused a reply{} for good: {reason}", to(&openid));
                (Level::Error, openid, text)
            }
            "job will be retried" => {
                let openid = user("message_id");
                let text = format!(
                    "a reply{} failed and will be retried: {reason}",
                    to(&openid)
                );
                (Level::Error, openid, text)
            }
            "job dropped" => (Level::Error, None, format!("a job was dropped: {reason}")),
            // A rule's hook: what it answered and how long it took, beside the reply.
            "hook answered" => {
                let openid = user("job");
                let generated = if fields.get("generated") == "true" {
                    ", marked generated: the label is added"
                } else {
                    ""
                };
                let text = format!(
                    "hook answered{} in {} ms (request {}): {} message(s){generated}",
                    to(&openid),
                    fields.get("took_ms"),
                    fields.get("id"),
                    fields.get("messages")
                );
                (Level::Info, openid, text)
            }
            "hook failed: sending the fallback" => {
                let openid = user("job");
                let text = format!(
                    "hook failed{} after {} ms ({reason}): its fallback goes out",
                    to(&openid),
                    fields.get("took_ms")
                );
                (Level::Warn, openid, text)
            }
            message => {
                let quiet = level > TraceLevel::WARN && !self.verbose;
                if quiet || message.is_empty() {
                    return None;
                }
                let mut text = message.to_owned();
                for (name, value) in fields.0.iter().filter(|(name, _)| **name != "message") {
                    let _ = write!(text, " {name}={value}");
                }
                let level = match level {
                    TraceLevel::ERROR => Level::Error,
                    TraceLevel::WARN => Level::Warn,
                    _ => Level::Info,
                };
                (level, None, text)
            }
        };
        Some(line)
    }
}

/// An image that could not be used, said as what it is: a local file (not in the images
/// folder), or a URL that did not serve it — never WeChat.
fn image_problem(reason: &str) -> String {
    let detail = reason.strip_prefix("image: ").unwrap_or(reason);
    if detail.contains("://") {
        format!("its image could not be downloaded ({detail}); WeChat was not asked")
    } else {
        format!(
            "its image is a local problem ({detail}): the file must be in the images folder (--assets, default functions/reply/assets); WeChat was not asked"
        )
    }
}

/// What to check when a push is refused.
fn refusal_hint(reason: &str) -> &'static str {
    if reason.contains("signature mismatch") {
        " — the Token (or, for msg_signature, the body) differs from kefu dev's; check --token"
    } else if reason.contains("appid") {
        " — the message was sealed for another AppID; check --appid"
    } else if reason.contains("padding") || reason.contains("Encrypt") {
        " — the EncodingAESKey differs from kefu dev's; check --aes-key"
    } else if reason.contains("plaintext pushes are refused") {
        " — as deployed; send safe or compatible mode, or start kefu dev --allow-plaintext"
    } else if reason.contains("missing query parameter") {
        " — WeChat signs every push: signature, timestamp and nonce (msg_signature when encrypted)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&'static str, &str)]) -> Fields {
        Fields(pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect())
    }

    fn log() -> DevLog {
        DevLog {
            timeline: Timeline::new(),
            rules_from_file: true,
            verbose: false,
        }
    }

    #[test]
    fn a_quota_skip_names_the_user_and_the_rule() {
        let log = log();
        log.timeline.job_for("push#wx#1".into(), "o-a");
        let (level, openid, text) = log
            .describe(
                TraceLevel::INFO,
                &fields(&[
                    ("message", "send skipped: over the user's quota"),
                    ("send", "send#push#wx#1#0"),
                ]),
            )
            .unwrap_or((Level::Info, None, String::new()));
        assert_eq!(level, Level::Warn);
        assert_eq!(openid.as_deref(), Some("o-a"));
        assert!(
            text.contains("to o-a") && text.contains("5 messages in the 48 h"),
            "{text}"
        );
    }

    #[test]
    fn a_refusal_says_why_and_what_to_check() {
        let line = log().describe(
            TraceLevel::WARN,
            &fields(&[
                ("message", "push rejected"),
                ("status", "403"),
                ("reason", "signature mismatch"),
            ]),
        );
        let text = line.map(|(_, _, text)| text).unwrap_or_default();
        assert!(
            text.starts_with("push refused: HTTP 403 signature mismatch"),
            "{text}"
        );
        assert!(text.contains("--token"), "{text}");
    }

    #[test]
    fn routine_info_lines_stay_quiet() {
        assert!(
            log()
                .describe(
                    TraceLevel::INFO,
                    &fields(&[("message", "typing indicator not shown")])
                )
                .is_none()
        );
    }
}
