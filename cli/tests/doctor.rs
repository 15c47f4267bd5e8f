//! `kefu doctor` against a deployment made of real parts: its secrets and rules on the moto
//! server (started by `tests/run.sh`), its push URL and WeChat API played by a running
//! `kefu dev` (whose sandbox answers as WeChat does, faults included). Each problem is told in
//! words on one line, and no secret value is ever printed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::process::{Command, Output};

use kefu_tests::aws;
use kefu_tests::dev_process::DevProcess;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// A deployment's credentials as 小程序后台 issues them (letters and digits; a 43-character
/// EncodingAESKey; a 32-character hexadecimal AppSecret).
const TOKEN: &str = "kefuDoctorToken2026";
const AES_KEY: &str = "Dq7uRk2Lw9ZbXc4VnMa8Ts1Pe6Hy3Gj5Fo0Ki2Ul7Nx";
const APPID: &str = "wx0d0c70r0d0c70r00";
const APP_SECRET: &str = "3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e";

/// Values that must never appear in doctor's output.
const SECRETS: [&str; 3] = [TOKEN, AES_KEY, APP_SECRET];

/// `kefu dev` with the deployment's credentials: its push URL checks pushes with them, its
/// sandbox issues tokens for them.
fn dev() -> DevProcess {
    DevProcess::start(
        env!("CARGO_BIN_EXE_kefu"),
        &[
            "dev",
            "--token",
            TOKEN,
            "--aes-key",
            AES_KEY,
            "--appid",
            APPID,
            "--app-secret",
            APP_SECRET,
        ],
        &[],
        false,
    )
}

/// Secrets (two SecureStrings, as deployed: `app_secret` in the API parameter, every other key
/// in the push parameter) and, if given, rules under a fresh prefix on moto; returns the push
/// and API secrets parameters and the rules path.
async fn deployment(secrets: &serde_json::Value, rules: Option<&str>) -> (String, String, String) {
    let clients = aws::clients().await;
    let prefix = aws::unique("/kefu-doctor");
    let (push, api) = (
        format!("{prefix}/secrets/push"),
        format!("{prefix}/secrets/api"),
    );
    let mut push_json = secrets.as_object().unwrap().clone();
    let app_secret = push_json.remove("app_secret");
    let api_json = serde_json::json!({ "app_secret": app_secret });
    aws::put_secure_parameter(
        &clients.ssm,
        &push,
        &serde_json::Value::Object(push_json).to_string(),
    )
    .await;
    aws::put_secure_parameter(&clients.ssm, &api, &api_json.to_string()).await;
    if let Some(rules) = rules {
        aws::put_parameter(&clients.ssm, &format!("{prefix}/rules/000"), rules).await;
    }
    (push, api, format!("{prefix}/rules"))
}

fn good_secrets() -> serde_json::Value {
    serde_json::json!({"token": TOKEN, "encoding_aes_key": AES_KEY, "app_secret": APP_SECRET})
}

fn doctor(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .arg("doctor")
        .args(args)
        .current_dir(ROOT)
        .env_remove("KEFU_APPID")
        .env_remove("KEFU_PUSH_URL")
        .env_remove("KEFU_RULES_PATH")
        .env_remove("KEFU_PUSH_SECRETS_PARAMETER")
        .env_remove("KEFU_API_SECRETS_PARAMETER")
        .env_remove("WECHAT_API_BASE")
        .env("NO_COLOR", "1")
        .env("AWS_ENDPOINT_URL", aws::endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", aws::REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for secret in SECRETS {
        assert!(!printed.contains(secret), "a secret was printed: {printed}");
    }
    output
}

/// The line of check `name` in doctor's text output.
fn line<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| {
            l.split_once(' ')
                .is_some_and(|(_, rest)| rest.starts_with(&format!("{name}: ")))
        })
        .unwrap_or_else(|| panic!("no {name} line in {stdout}"))
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test]
async fn a_healthy_deployment_passes_every_check() {
    let (push_secrets, api_secrets, rules) =
        deployment(&good_secrets(), Some(kefu::sample::RULES_JSON)).await;
    let dev = dev();
    let url = format!("{}/wechat", dev.base);
    let args = [
        "--appid",
        APPID,
        "--push-secrets-parameter",
        &push_secrets,
        "--api-secrets-parameter",
        &api_secrets,
        "--rules-path",
        &rules,
        "--url",
        &url,
        "--wechat-api",
        &dev.base,
    ];
    let out = doctor(&args);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(line(&text, "appid"), format!("✓ appid: {APPID}"));
    assert_eq!(
        line(&text, "push secrets"),
        format!(
            "✓ push secrets: {push_secrets}: token 19 characters, encoding_aes_key 43 characters"
        )
    );
    assert_eq!(
        line(&text, "API secrets"),
        format!("✓ API secrets: {api_secrets}: app_secret 32 characters")
    );
    assert!(
        line(&text, "rules").starts_with(&format!("✓ rules: {rules}: 5 rules (1 transfer)")),
        "{text}"
    );
    // kefu dev's port is neither 80 nor 443, which WeChat would refuse: a warning.
    let push = line(&text, "push URL");
    assert!(
        push.starts_with("! push URL: ")
            && push.contains("answered the signed GET with its echostr"),
        "{push}"
    );
    assert!(push.contains("ports 80 and 443"), "{push}");
    assert!(
        line(&text, "access_token").starts_with("✓ access_token: fetched from"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("no problems found"));

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = doctor(&json_args);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    let statuses: Vec<(&str, &str)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("appid", "ok"),
            ("push secrets", "ok"),
            ("API secrets", "ok"),
            ("rules", "ok"),
            ("push URL", "warn"),
            ("access_token", "ok"),
        ]
    );
}

#[tokio::test]
async fn wechats_ip_whitelist_and_appid_refusals_are_told_in_words() {
    let (push_secrets, api_secrets, rules) =
        deployment(&good_secrets(), Some(kefu::sample::RULES_JSON)).await;
    let dev = dev();
    let run = |appid: &str| {
        doctor(&[
            "--appid",
            appid,
            "--push-secrets-parameter",
            &push_secrets,
            "--api-secrets-parameter",
            &api_secrets,
            "--rules-path",
            &rules,
            "--wechat-api",
            &dev.base,
        ])
    };

    // WeChat refuses token calls from an address not on the mini program's API IP whitelist.
    let injected = kefu::tls::http_client_builder()
        .build()
        .unwrap()
        .post(format!("{}/sandbox/faults", dev.base))
        .json(&serde_json::json!({"endpoint": "stable_token", "ip_not_whitelisted": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(injected.status(), 204);
    let out = run(APPID);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let token = line(&text, "access_token");
    assert!(
        token.starts_with(
            "✗ access_token: WeChat refuses API calls from this machine's address 127.0.0.1: the API IP whitelist is on (errcode 40164"
        ),
        "{token}"
    );
    assert!(token.contains("IP白名单"), "{token}");
    assert!(
        line(&text, "push URL").starts_with("- push URL: not checked"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("1 problem found"));

    // A well-formed AppID that is not the mini program's.
    let out = run("wx1111111111111111");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        line(&text, "access_token").starts_with(
            "✗ access_token: WeChat does not know the AppID wx1111111111111111 (errcode 40013"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn broken_secrets_and_missing_rules_say_what_is_wrong_without_the_values() {
    let wrong_token = "AnotherToken2026";
    let wrong_secret = "0123456789abcdef0123456789abcdef";
    let short_key = &AES_KEY[..42];
    let (push_secrets, api_secrets, rules) = deployment(
        &serde_json::json!({
            "token": wrong_token,
            "encoding_aes_key": short_key,
            "app_secret": wrong_secret,
            "aes_key": AES_KEY,
        }),
        None,
    )
    .await;
    let dev = dev();
    let url = format!("{}/wechat", dev.base);
    let out = doctor(&[
        "--appid",
        APPID,
        "--push-secrets-parameter",
        &push_secrets,
        "--api-secrets-parameter",
        &api_secrets,
        "--rules-path",
        &rules,
        "--url",
        &url,
        "--wechat-api",
        &dev.base,
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for value in [wrong_token, wrong_secret, short_key] {
        assert!(!text.contains(value), "a secret was printed: {text}");
    }
    let secrets_line = line(&text, "push secrets");
    assert!(
        secrets_line.starts_with("✗ push secrets: "),
        "{secrets_line}"
    );
    for says in [
        "unknown key \"aes_key\" (the keys are token, encoding_aes_key)",
        "encoding_aes_key is 42 characters, it must be 43",
    ] {
        assert!(secrets_line.contains(says), "{secrets_line}");
    }
    assert_eq!(
        line(&text, "rules"),
        format!(
            "✗ rules: nothing under {rules}: push a rules file with `kefu rules push FILE --path {rules}`"
        )
    );
    let push = line(&text, "push URL");
    assert!(
        push.starts_with(&format!(
            "✗ push URL: {url} refused the signed GET: HTTP 403"
        )) && push.ends_with("the deployment's Token is not the token in the secrets"),
        "{push}"
    );
    assert!(
        line(&text, "access_token")
            .starts_with("✗ access_token: WeChat rejects the AppSecret (errcode 40125"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("4 problems found"));
}

#[tokio::test]
async fn a_bad_appid_and_a_missing_secrets_parameter_are_named() {
    let missing = format!("{}/secrets/push", aws::unique("/kefu-doctor"));
    let out = doctor(&["--appid", "wx123", "--push-secrets-parameter", &missing]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        line(&text, "appid").starts_with(
            "✗ appid: \"wx123\" (5 characters) is not an AppID: wx and 16 letters or digits"
        ),
        "{text}"
    );
    assert!(
        line(&text, "push secrets")
            .starts_with(&format!("✗ push secrets: {missing} does not exist")),
        "{text}"
    );
    assert_eq!(
        line(&text, "access_token"),
        "- access_token: not fetched: no valid AppID"
    );
}

/// `--apps-path` checks one app of several: its secrets under the apps path, and its own rules
/// or, while it has none, the shared ones.
#[tokio::test]
async fn one_app_of_several_is_checked_under_the_apps_path() {
    let clients = aws::clients().await;
    let prefix = aws::unique("/kefu-doctor-apps");
    let apps_path = format!("{prefix}/apps");
    let shared = format!("{prefix}/rules");
    aws::put_parameter(
        &clients.ssm,
        &format!("{shared}/000"),
        kefu::sample::RULES_JSON,
    )
    .await;
    let aws_handle = kefu::aws::Aws::from_config(&aws::sdk_config().await);
    let app = kefu::aws::NewApp {
        appid: APPID.to_owned(),
        token: TOKEN.into(),
        encoding_aes_key: Some(AES_KEY.into()),
        app_secret: APP_SECRET.into(),
    };
    aws_handle.add_app(&apps_path, &app, None).await.unwrap();
    let dev = dev();
    let run = || {
        doctor(&[
            "--appid",
            APPID,
            "--apps-path",
            &apps_path,
            "--rules-path",
            &shared,
            "--wechat-api",
            &dev.base,
        ])
    };

    let out = run();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        line(&text, "push secrets")
            .starts_with(&format!("✓ push secrets: {apps_path}/{APPID}/push:")),
        "{text}"
    );
    assert!(
        line(&text, "API secrets").starts_with(&format!("✓ API secrets: {apps_path}/{APPID}/api:")),
        "{text}"
    );
    assert!(
        line(&text, "rules").starts_with(&format!("✓ rules: {shared}:")),
        "the shared rules while the app has none: {text}"
    );
    assert!(
        line(&text, "access_token").starts_with("✓ access_token"),
        "{text}"
    );

    let own = format!("{apps_path}/{APPID}/rules");
    aws::put_parameter(&clients.ssm, &own, kefu::sample::RULES_JSON).await;
    let text = stdout(&run());
    assert!(
        line(&text, "rules").starts_with(&format!("✓ rules: {own}:")),
        "its own rules: {text}"
    );
}

/// `kefu doctor` with no AWS configuration at all: no keys, no profile, no region, the instance
/// metadata service off, and an AWS endpoint where nothing listens — any AWS call would fail.
fn doctor_without_aws(args: &[&str]) -> Output {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_kefu"));
    command.arg("doctor").args(args).current_dir(ROOT);
    for (name, _) in std::env::vars() {
        if name.starts_with("AWS_") || name.starts_with("KEFU_") || name == "WECHAT_API_BASE" {
            command.env_remove(name);
        }
    }
    command
        .env("HOME", std::env::temp_dir().join("kefu-doctor-no-aws-home"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// `--token` checks a push URL (a running `kefu dev`, a tunnel to it) without reading
/// Parameter Store: the secrets and rules checks are skipped, no AWS is needed.
#[test]
fn token_checks_a_local_url_without_parameter_store() {
    let dev = DevProcess::start(env!("CARGO_BIN_EXE_kefu"), &["dev"], &[], false);
    let url = format!("{}/wechat", dev.base);
    let out = doctor_without_aws(&["--url", &url, "--token", "kefu-sample-token"]);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let push = line(&text, "push URL");
    assert!(
        push.starts_with(&format!(
            "! push URL: {url} answered the signed GET with its echostr"
        )),
        "{text}"
    );
    for name in ["push secrets", "API secrets", "rules"] {
        assert!(
            line(&text, name).starts_with(&format!("- {name}: not read: --token given")),
            "{text}"
        );
    }
    assert!(
        line(&text, "appid").starts_with("- appid: not checked"),
        "{text}"
    );
    assert!(!text.contains("AWS"), "{text}");
    assert_eq!(text.lines().last(), Some("no problems found"));

    // A Token that is not kefu dev's is refused, and said so.
    let out = doctor_without_aws(&["--url", &url, "--token", "anotherToken2026"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        line(&text, "push URL").starts_with(&format!(
            "✗ push URL: {url} refused the signed GET: HTTP 403"
        )),
        "{text}"
    );
    assert!(!text.contains("anotherToken2026"), "{text}");
}
