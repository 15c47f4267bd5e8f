//! The dev stack on in-memory stores: the sample (or given) credentials, rules from a file,
//! the sandbox as WeChat, and the send core built by the same composition as the function's.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kefu::assets::AssetReader;
use kefu::clock::SystemClock;
use kefu::compose::{MemoryStack, instance_id};
use kefu::local::StaticRules;
use kefu::ports::Clock;
use kefu::protocol::Credentials;
use kefu::receive::ReceiveSettings;
use kefu::sample;
use kefu::secret::SecretString;
use kefu::wechat_api::WeChatClient;
use kefu_sandbox::Sandbox;

use super::console::{self, shown};
use super::timeline::Level;
use super::{DevArgs, DevStack, queue, rules_watch, wechat_api};

/// How often rules are re-read from the file: edits show up within this.
const RULES_TTL: Duration = Duration::from_secs(2);
/// How long one WeChat API call (or image download) may take, as deployed.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// The rules `kefu dev` uses when run from the repository without --rules.
const SAMPLE_RULES: &str = "rules/sample.json";

pub(super) fn stack(args: &DevArgs, local_api: &str) -> anyhow::Result<DevStack> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let credentials = Credentials {
        token: args.credentials.token(),
        aes_key: Some(args.credentials.key()?),
        appid: args.credentials.appid.clone(),
    };
    let rules_file = match &args.rules {
        Some(path) => Some(path.clone()),
        None if Path::new(SAMPLE_RULES).exists() => Some(PathBuf::from(SAMPLE_RULES)),
        None => None,
    };
    let (rules, rules_origin) = match &rules_file {
        Some(path) => {
            // A broken file is an error now, not a 500 on the first push.
            let (_, findings) = rules_watch::load(path, &args.assets)?;
            for finding in findings {
                console::say(Level::Warn, &format!("rules: {finding}"));
            }
            (StaticRules::from_file(path), path.display().to_string())
        }
        None => (
            StaticRules::new(sample::rules()),
            "the embedded sample rules".to_owned(),
        ),
    };
    let stack = MemoryStack::new(rules, clock.clone(), RULES_TTL);
    let receiver = Arc::new(stack.receiver(ReceiveSettings::new(credentials)));
    let secret = args
        .app_secret
        .clone()
        .unwrap_or_else(|| SecretString::new(sample::APP_SECRET));
    let sandbox = Sandbox::new(&args.credentials.appid, secret.expose(), clock);
    let api = Arc::new(WeChatClient::new(
        &wechat_api(args, local_api)?,
        &args.credentials.appid,
        secret,
        CALL_TIMEOUT,
    )?);
    let sender = Arc::new(stack.sender(
        &args.credentials.appid,
        api,
        Arc::new(AssetReader::new(&args.assets, CALL_TIMEOUT)?),
        &instance_id(),
    ));
    let banner = vec![
        (
            "Token",
            shown(&args.credentials.token, sample::TOKEN, "--token"),
        ),
        (
            "EncodingAESKey",
            shown(
                &args.credentials.aes_key,
                sample::ENCODING_AES_KEY,
                "--aes-key",
            ),
        ),
        ("AppID", args.credentials.appid.clone()),
        ("rules", format!("{rules_origin} (edits apply within 2 s)")),
        ("stores", "embedded (in memory)".to_owned()),
    ];
    Ok(DevStack {
        receiver,
        rules: stack.rules.clone(),
        handoffs: stack.table.clone(),
        rules_file,
        rules_origin: rules_origin.clone(),
        queue_loop: Box::pin(queue::run_embedded(
            stack.queue,
            sender,
            sandbox.clone(),
            args.wechat_api.is_none(),
        )),
        sandbox,
        banner,
    })
}
