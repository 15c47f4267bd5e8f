//! Hooks in `kefu dev`: rules' hooks are called as written (an `http://localhost` URL is
//! allowed, as in a deployment), or every hook goes to `--hook-url`; `--hook-secret` signs the
//! calls as a deployment's `HookSecretParameterName` does. A Lambda hook has no AWS
//! credentials here: it gets its fallback, unless `--hook-url` takes it.

use std::sync::Arc;

use anyhow::Context;
use kefu::clock::SystemClock;
use kefu::hooks::HookClient;
use kefu::ports::HookCaller;

use super::DevArgs;

/// The hooks' client `kefu dev` runs with.
pub(super) fn caller(args: &DevArgs) -> anyhow::Result<Arc<dyn HookCaller>> {
    let client = HookClient::new(args.hook_secret.clone(), Arc::new(SystemClock))
        .map_err(anyhow::Error::msg)
        .context("building the hooks' HTTP client")?;
    Ok(Arc::new(match &args.hook_url {
        Some(url) => client.redirected_to(url),
        None => client,
    }))
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
