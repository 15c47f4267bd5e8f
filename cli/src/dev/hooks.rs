//! Hooks in `kefu dev`: rules' hooks are called as written (an `http://localhost` URL is
//! allowed, as in a deployment), or every hook goes to `--hook-url`; `--hook-secret` signs the
//! calls as a deployment's `HookSecretParameterName` does. A Lambda hook has no AWS
//! credentials here: it gets its fallback, unless `--hook-url` takes it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kefu::compose::memory::HookSpec;
use kefu::ports::{HookCaller, HookFailure};
use kefu::rules::HookTarget;

use super::DevArgs;
use super::timeline::{Level, Timeline};

/// How `kefu dev` calls hooks: signed with `--hook-secret`, all sent to `--hook-url` if given.
pub(super) fn spec(args: &DevArgs) -> HookSpec {
    HookSpec {
        secret: args.hook_secret.clone(),
        redirect_to: args.hook_url.clone(),
    }
}

/// The hooks' client as `kefu dev` runs it: each call's request, answer and timing are shown in
/// the chat window.
pub(super) fn shown_in(
    args: &DevArgs,
    timeline: &Timeline,
) -> impl FnOnce(Arc<dyn HookCaller>) -> Arc<dyn HookCaller> {
    let redirected_to = args.hook_url.clone();
    let timeline = timeline.clone();
    move |inner| {
        Arc::new(Shown {
            inner,
            redirected_to,
            timeline,
        })
    }
}

/// How much of a request or an answer the chat window shows.
const SHOWN_BYTES: usize = 1024;

/// A hooks' client whose calls the chat window shows, bodies included: `kefu dev` only, where
/// the user is the developer's own test user (a deployment logs the timing and the reason,
/// never the bodies).
#[derive(Debug)]
struct Shown {
    inner: Arc<dyn HookCaller>,
    /// `--hook-url`: where every call really goes.
    redirected_to: Option<String>,
    timeline: Timeline,
}

#[async_trait]
impl HookCaller for Shown {
    async fn call(
        &self,
        target: HookTarget<'_>,
        id: &str,
        body: &[u8],
        wait: Duration,
    ) -> Result<Vec<u8>, HookFailure> {
        let started = Instant::now();
        let answer = self.inner.call(target, id, body, wait).await;
        let took = started.elapsed().as_millis();
        let openid = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|request| request.get("openid")?.as_str().map(str::to_owned));
        let mut called = match target {
            HookTarget::Url(url) => url.to_owned(),
            HookTarget::Lambda(arn) => format!("Lambda {arn}"),
        };
        if let Some(url) = &self.redirected_to {
            called = format!("{url} (--hook-url; the rule names {called})");
        }
        let (level, answered) = match &answer {
            Ok(bytes) => (Level::Info, format!("answer {}", shown(bytes))),
            Err(failure) => (Level::Warn, format!("no answer: {failure}")),
        };
        self.timeline.notice(
            openid,
            level,
            format!(
                "hook {id} → {called} in {took} ms · request {} · {answered}",
                shown(body)
            ),
        );
        answer
    }
}

/// `bytes` as text for the chat window, cut to [`SHOWN_BYTES`].
fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= SHOWN_BYTES {
        return text.into_owned();
    }
    let mut end = SHOWN_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… ({} bytes)",
        text.get(..end).unwrap_or_default(),
        bytes.len()
    )
}

/// The banner's line about hooks.
pub(super) fn banner(args: &DevArgs) -> String {
    let signed = if args.hook_secret.is_some() {
        "signed with --hook-secret"
    } else {
        "unsigned (--hook-secret to sign)"
    };
    match &args.hook_url {
        Some(url) => format!("every hook goes to {url}, {signed}"),
        None => format!("called as the rules write them, {signed}"),
    }
}

/// A hook URL for `--hook-url`: as a rule's (https, or http on this machine).
pub(super) fn parse_hook_url(url: &str) -> Result<String, String> {
    kefu::rules::hook::check_url(url)?;
    Ok(url.to_owned())
}
