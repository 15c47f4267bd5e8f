//! A deployment of two mini programs on moto, as `kefu apps add` writes it: app A on the shared
//! rules, app B with rules of its own, for the suites about several apps.

use kefu::aws::{Aws, NewApp};
use kefu::secret::SecretString;
use serde_json::json;

use crate::aws::{self, Clients, create_queue, create_table, put_parameter, unique};
use crate::pushes::AppKeys;

pub const A: AppKeys<'static> = AppKeys {
    appid: "wxa1a1a1a1a1a1a1a1",
    token: "token-of-app-a",
    encoding_aes_key: "ERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzA",
};
pub const B: AppKeys<'static> = AppKeys {
    appid: "wxb2b2b2b2b2b2b2b2",
    token: "token-of-app-b",
    encoding_aes_key: "IiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEE",
};
pub const SECRET_A: &str = "secret-of-app-a-0123456789abcdef";
pub const SECRET_B: &str = "secret-of-app-b-0123456789abcdef";

/// What [`deploy`] made.
#[derive(Debug)]
pub struct Deployment {
    /// The shared rules are at `{prefix}/rules`.
    pub prefix: String,
    pub apps_path: String,
    pub table: String,
    pub queue_url: String,
}

impl Deployment {
    /// The functions' environment for this deployment, its apps looked up again after
    /// `ttl_seconds`, calling the WeChat API at `wechat_api`.
    pub fn env(&self, ttl_seconds: u64, wechat_api: &str) -> [(&'static str, String); 6] {
        [
            ("KEFU_APPS_PATH", self.apps_path.clone()),
            ("KEFU_APPS_TTL_SECONDS", ttl_seconds.to_string()),
            ("KEFU_TABLE", self.table.clone()),
            ("KEFU_QUEUE_URL", self.queue_url.clone()),
            ("KEFU_RULES_PATH", format!("{}/rules", self.prefix)),
            ("WECHAT_API_BASE", wechat_api.to_owned()),
        ]
    }
}

/// `app`'s secrets as `kefu apps add` takes them.
pub fn new_app(app: AppKeys<'_>, secret: &str) -> NewApp {
    NewApp {
        appid: app.appid.to_owned(),
        token: SecretString::new(app.token),
        encoding_aes_key: Some(SecretString::new(app.encoding_aes_key)),
        app_secret: SecretString::new(secret),
    }
}

/// A table, a queue, the shared rules (a transfer rule, the default 「收到」), app B's own
/// (the default 「B 收到」), and apps A and B added as `kefu apps add` adds them, under a
/// path unique to this call (`name` begins it).
pub async fn deploy(clients: &Clients, name: &str) -> Deployment {
    let table = create_table(&clients.dynamodb).await;
    let queue_url = create_queue(&clients.sqs, false).await;
    let prefix = unique(name);
    let apps_path = format!("{prefix}/apps");
    let shared = json!({
        "rules": [{"name": "human", "match": {"exact": "人工"}, "action": "transfer"}],
        "default": {"reply": [{"type": "text", "content": "收到"}]}
    });
    put_parameter(
        &clients.ssm,
        &format!("{prefix}/rules"),
        &shared.to_string(),
    )
    .await;
    let own = json!({
        "rules": [{"name": "human", "match": {"exact": "人工"}, "action": "transfer"}],
        "default": {"reply": [{"type": "text", "content": "B 收到"}]}
    });
    put_parameter(
        &clients.ssm,
        &format!("{apps_path}/{}/rules", B.appid),
        &own.to_string(),
    )
    .await;
    let direct = Aws::from_config(&aws::sdk_config().await);
    for (app, secret) in [(A, SECRET_A), (B, SECRET_B)] {
        direct
            .add_app(&apps_path, &new_app(app, secret), None)
            .await
            .expect("kefu apps add's write");
    }
    Deployment {
        prefix,
        apps_path,
        table,
        queue_url,
    }
}
