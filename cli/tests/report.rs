//! `kefu report` from a running `kefu dev`: users' messages (known questions, paraphrases,
//! questions nobody wrote an answer for, small talk) pushed as WeChat pushes them; the report's
//! counts equal what was sent, every kept question is in exactly one group, the ways of asking
//! for a refund fall in one group, and `/report` is one self-contained page. Then `kefu faq
//! add-question` closes the loop: the question added answers next time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kefu::clock::EpochSecs;
use kefu::protocol::{Format, Mode};
use kefu_tests::dev_process::{DevProcess, http_get};
use kefu_tests::pushes::{Framing, text_push};

fn reply(content: &str) -> serde_json::Value {
    serde_json::json!({"reply": [{"type": "text", "content": content}]})
}

/// A shop's rules: a rule for the opening hours, an FAQ on coupons and delivery, and no answer
/// written for refunds or invoices.
fn rules() -> serde_json::Value {
    serde_json::json!({
        "rules": [{"name": "hours", "match": {"contains": "营业时间"}, "action": reply("9:00-21:00")}],
        "faq": {"entries": [
            {"id": "coupon-use", "questions": ["优惠券怎么用", "下单时怎么选优惠券"], "action": reply("结算页选择")},
            {"id": "coupon-get", "questions": ["优惠券在哪里领", "怎么领优惠券"], "action": reply("领券中心")},
            {"id": "delivery", "questions": ["多久发货", "什么时候发货", "下单后几天发货"], "action": reply("48 小时内")}
        ]},
        "default": reply("收到，我们会尽快回复")
    })
}

fn kefu(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("KEFU_TABLE")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

async fn send(client: &reqwest::Client, base: &str, openid: &str, text: &str, msg_id: u64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let nonce = msg_id.to_string();
    let framing = Framing {
        mode: Mode::Safe,
        format: Format::Json,
        timestamp: now,
        nonce: &nonce,
    };
    let push = text_push(openid, text, msg_id, framing);
    let answer = client
        .post(format!("{base}/wechat?{}", push.query.to_query_string()))
        .header("content-type", "application/json")
        .body(push.body)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{text}: {}", answer.status());
}

/// What was sent: (text, how many times, the outcome expected).
const SENT: &[(&str, usize, &str)] = &[
    ("营业时间是几点", 6, "rule"),
    ("优惠券怎么用", 4, "faq"),
    ("下单以后多久发货", 4, "faq"),
    // Refunds: nobody wrote an answer.
    ("退钱", 3, "unanswered"),
    ("我要退钱", 3, "unanswered"),
    ("钱能退吗", 2, "unanswered"),
    // Invoices: neither.
    ("发票怎么开", 2, "unanswered"),
    ("能开发票吗", 2, "unanswered"),
    ("今天天气不错", 1, "unanswered"),
    // Small talk: answered by the default, not kept.
    ("你好", 3, "unanswered"),
];

#[tokio::test]
async fn the_report_counts_what_was_sent_and_groups_the_unanswered_questions() {
    let dir = std::env::temp_dir().join(format!("kefu-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rules_file = dir.join("rules.json");
    std::fs::write(&rules_file, rules().to_string()).unwrap();
    let dev = DevProcess::start(
        env!("CARGO_BIN_EXE_kefu"),
        &["dev", "--rules", rules_file.to_str().unwrap()],
        &[],
        false,
    );
    let client = kefu::tls::http_client_builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut msg_id = 9_100_000;
    let mut total = 0;
    for (text, times, _) in SENT {
        for n in 0..*times {
            msg_id += 1;
            total += 1;
            send(&client, &dev.base, &format!("o-report-{n}"), text, msg_id).await;
        }
    }

    // The reply side runs the jobs behind the acknowledgements: wait until all are counted.
    let until = Instant::now() + Duration::from_secs(30);
    let report = loop {
        let (status, body) = http_get(&format!("{}/report.json", dev.base));
        assert_eq!(status, 200, "{body}");
        let report: serde_json::Value = serde_json::from_str(&body).unwrap();
        if report["messages"] == total || Instant::now() > until {
            break report;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let count = |outcome: &str| {
        report["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["outcome"] == outcome)
            .map_or(0, |c| c["count"].as_u64().unwrap())
    };
    let expected = |outcome: &str| {
        SENT.iter()
            .filter(|(.., o)| *o == outcome)
            .map(|(_, n, _)| *n as u64)
            .sum::<u64>()
    };
    assert_eq!(report["messages"], total, "{report:#}");
    for outcome in ["rule", "faq", "unanswered", "suggested"] {
        assert_eq!(count(outcome), expected(outcome), "{outcome}: {report:#}");
    }
    // Over time: every message in its hour, by outcome.
    let over = &report["over_time"];
    assert_eq!(over["of"], "messages");
    assert_eq!(over["bucket_ms"], 3_600_000);
    let charted = |outcome: &str| {
        over["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["counts"][outcome].as_u64())
            .sum::<u64>()
    };
    for outcome in ["rule", "faq", "unanswered"] {
        assert_eq!(charted(outcome), expected(outcome), "{outcome}: {over:#}");
    }

    // From the command, as an operator runs it.
    let (ok, json) = kefu(&["report", "--dev", &dev.base, "--json"]);
    assert!(ok, "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["messages"], total);
    // Every kept question (all unanswered but small talk) in exactly one group.
    let kept = expected("unanswered") - 3;
    assert_eq!(report["kept"]["unanswered"], kept, "{report:#}");
    let groups = report["groups"].as_array().unwrap();
    let grouped: u64 = groups.iter().map(|g| g["count"].as_u64().unwrap()).sum();
    assert_eq!(grouped, kept);
    assert_eq!(report["group_count"], 3, "{report:#}");
    let refunds = &groups[0];
    assert_eq!(refunds["count"], 8, "{report:#}");
    let examples: Vec<&str> = refunds["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(examples, ["我要退钱", "退钱", "钱能退吗"]);
    assert_eq!(groups[1]["count"], 4);
    assert!(
        groups[1].get("closest").is_none(),
        "only a shared character: {report:#}"
    );
    assert_eq!(groups[2]["examples"][0], "今天天气不错");

    let (ok, text) = kefu(&["report", "--dev", &dev.base]);
    assert!(ok, "{text}");
    println!("{text}");
    assert!(
        text.contains("「我要退钱」 「退钱」 「钱能退吗」"),
        "{text}"
    );
    assert!(text.contains(&format!("messages: {total}")), "{text}");

    // The page, live and as a file: self-contained.
    let (status, page) = http_get(&format!("{}/report", dev.base));
    assert_eq!(status, 200);
    let html_file = dir.join("report.html");
    let (ok, out) = kefu(&[
        "report",
        "--dev",
        &dev.base,
        "--html",
        html_file.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let written = std::fs::read_to_string(&html_file).unwrap();
    for page in [&page, &written] {
        assert!(page.contains("<svg") && page.contains("我要退钱"), "{page}");
        for outside in ["<script", "src=", "<link", "@import"] {
            assert!(!page.contains(outside), "{outside}");
        }
    }

    // Close the loop: a question the report shows is added to the entry it belongs to, and
    // the FAQ answers it from then on.
    let (ok, out) = kefu(&[
        "faq",
        "add-question",
        "coupon-get",
        "领券的地方在哪",
        "--rules",
        rules_file.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("the FAQ now answers it with coupon-get"),
        "{out}"
    );
}

#[test]
fn add_question_adds_once_validates_and_names_what_is_wrong() {
    let dir = std::env::temp_dir().join(format!("kefu-add-question-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rules.json");
    std::fs::write(&file, rules().to_string()).unwrap();
    let path = file.to_str().unwrap();

    let (ok, out) = kefu(&[
        "faq",
        "add-question",
        "delivery",
        "东西几天能到",
        "--rules",
        path,
    ]);
    assert!(ok, "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let delivery = &json["faq"]["entries"][2];
    assert_eq!(delivery["id"], "delivery");
    assert_eq!(delivery["questions"][3], "东西几天能到");
    assert_eq!(json["rules"][0]["name"], "hours", "the rest kept");

    // Again (as the matcher normalises it): nothing written.
    let before = std::fs::read_to_string(&file).unwrap();
    let (ok, out) = kefu(&[
        "faq",
        "add-question",
        "delivery",
        "东西几天能到？",
        "--rules",
        path,
    ]);
    assert!(ok && out.contains("already has"), "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);

    let (ok, out) = kefu(&["faq", "add-question", "refund", "退钱", "--rules", path]);
    assert!(!ok && out.contains("no FAQ entry \"refund\""), "{out}");
    assert!(out.contains("coupon-use, coupon-get, delivery"), "{out}");
    let (ok, out) = kefu(&[
        "faq",
        "add-question",
        "coupon-get",
        "多久发货",
        "--rules",
        path,
    ]);
    assert!(
        !ok && out.contains("already a question of entry delivery"),
        "{out}"
    );
    let (ok, out) = kefu(&["faq", "add-question", "coupon-get", "？？", "--rules", path]);
    assert!(!ok && out.contains("has no words"), "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
}

/// From a deployment's table (moto): the questions the reply function kept, grouped, with the
/// closest entry of a rules file's FAQ; the outcome counts are CloudWatch's, and it says so.
#[tokio::test]
async fn the_report_reads_a_deployments_table() {
    use kefu::ports::{AskedQuestion, QuestionLog};
    let endpoint = std::env::var("KEFU_TEST_AWS_ENDPOINT")
        .expect("moto server not running: run `bash tests/run.sh`, which starts it");
    let clients = kefu_tests::aws::clients().await;
    let table_name = kefu_tests::aws::create_table(&clients.dynamodb).await;
    let table =
        kefu::aws::Aws::from_config(&kefu_tests::aws::sdk_config().await).table(&table_name);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for (n, (appid, text)) in [
        ("wx1", "领券在哪里"),
        ("wx1", "优惠券去哪领"),
        ("wx2", "发票怎么开"),
        ("wx1", "发票怎么开"),
    ]
    .into_iter()
    .enumerate()
    {
        let question = AskedQuestion {
            appid: appid.into(),
            // One of them yesterday.
            at_ms: now - 1000 - (n as i64) * 30_000_000,
            asker: format!("{n:016x}"),
            outcome: "unanswered".into(),
            text: text.into(),
        };
        table
            .keep(&question, EpochSecs(now / 1000 + 3600))
            .await
            .unwrap();
    }
    let dir = std::env::temp_dir().join(format!("kefu-report-aws-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules_file = dir.join("rules.json");
    std::fs::write(&rules_file, rules().to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args([
            "report",
            "--table",
            &table_name,
            "--appid",
            "wx1",
            "--since",
            "2d",
            "--json",
        ])
        .args(["--rules", rules_file.to_str().unwrap()])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("KEFU_RULES_PATH")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(report.get("messages").is_none(), "{report:#}");
    assert_eq!(report["kept"]["unanswered"], 3, "{report:#}");
    assert_eq!(report["askers"], 3);
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{report:#}");
    assert_eq!(groups[0]["count"], 2);
    assert_eq!(groups[0]["closest"][0], "coupon-get", "{report:#}");
    assert_eq!(groups[1]["examples"][0], "发票怎么开");
}

/// The storm: 1 000 messages from 100 users through `kefu dev` — the coffee shop's evaluation
/// set (questions in users' own words, off-topic chatter) and a few questions its FAQ has no
/// entry for. The report's counts equal what the rules decide for what was sent, and every
/// kept question is in exactly one group. The groups are printed (`--nocapture`).
#[tokio::test]
async fn a_storm_of_a_thousand_messages_is_counted_and_every_kept_question_grouped_once() {
    const USERS: usize = 100;
    const PER_USER: usize = 10;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let eval: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}/rules/faq/eval/coffee.json")).unwrap(),
    )
    .unwrap();
    let rules = serde_json::json!({
        "rules": [{"name": "human", "match": {"exact": "人工"}, "action": reply("稍等，马上为你转接")}],
        "faq": eval["faq"],
        "default": reply("收到，我们会尽快回复")
    });
    let set = kefu::rules::RuleSet::from_json(&rules.to_string()).unwrap();
    let mut texts: Vec<String> = eval["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["text"].as_str().unwrap().to_owned())
        .chain(
            eval["off_topic"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_owned()),
        )
        .collect();
    // A bare number picks among suggestions offered earlier (counted as the entry's answer
    // when one was): left out, so that what each message gets does not depend on the order.
    texts.retain(|t| !t.trim().chars().all(|c| c.is_ascii_digit()));
    texts.extend(
        [
            "退钱",
            "我要退钱",
            "钱能退吗",
            "你们招聘吗",
            "还招人吗",
            "能开发票吗",
            "发票怎么开",
            "人工",
        ]
        .map(str::to_owned),
    );

    let dir = std::env::temp_dir().join(format!("kefu-report-storm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rules_file = dir.join("rules.json");
    std::fs::write(&rules_file, rules.to_string()).unwrap();
    let dev = DevProcess::start(
        env!("CARGO_BIN_EXE_kefu"),
        &["dev", "--rules", rules_file.to_str().unwrap()],
        &[],
        false,
    );
    let client = kefu::tls::http_client_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    // What the rules decide for each message sent, as the report should count it.
    let mut expected: std::collections::BTreeMap<&str, u64> = Default::default();
    let mut keepable = 0u64;
    let mut sent = Vec::new();
    for i in 0..USERS * PER_USER {
        let text = texts[(i * 7) % texts.len()].clone();
        let message = kefu::protocol::Message::from_json(
            &serde_json::json!({"ToUserName": "gh", "FromUserName": "o", "CreateTime": 1,
                "MsgType": "text", "Content": text, "MsgId": 1})
            .to_string(),
        )
        .unwrap();
        let decision = set.decide(&message, 0);
        let outcome = match (&decision.rule, &decision.faq) {
            (Some(_), _) => "rule",
            (None, Some(kefu::rules::FaqDecision::Answer { .. })) => "faq",
            (None, Some(kefu::rules::FaqDecision::Suggest(_))) => "suggested",
            _ => "unanswered",
        };
        *expected.entry(outcome).or_default() += 1;
        if matches!(outcome, "suggested" | "unanswered") && kefu::learn::worth_keeping(&text) {
            keepable += 1;
        }
        sent.push((
            format!("o-storm-{:03}", i % USERS),
            text,
            9_200_000 + i as u64,
        ));
    }
    let started = Instant::now();
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    // Each user's messages in order, the users at once.
    for user in 0..USERS {
        let mine: Vec<_> = sent
            .iter()
            .filter(|(o, ..)| *o == format!("o-storm-{user:03}"))
            .cloned()
            .collect();
        let (client, base, limit) = (client.clone(), dev.base.clone(), limit.clone());
        tasks.spawn(async move {
            for (openid, text, msg_id) in mine {
                let _permit = limit.acquire().await.unwrap();
                send(&client, &base, &openid, &text, msg_id).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let total = (USERS * PER_USER) as u64;
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = http_get(&format!("{}/report.json", dev.base));
        let report: serde_json::Value = serde_json::from_str(&body).unwrap();
        if report["messages"] == total || Instant::now() > until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let seconds = started.elapsed().as_secs_f64();

    let (ok, json) = kefu(&["report", "--dev", &dev.base, "--json", "--top", "1000"]);
    assert!(ok, "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["messages"], total, "{report:#}");
    for (outcome, n) in &expected {
        let counted = report["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["outcome"] == *outcome)
            .unwrap()["count"]
            .as_u64()
            .unwrap();
        assert_eq!(counted, *n, "{outcome}");
    }
    let kept: u64 = report["kept"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(kept, keepable, "{report:#}");
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len() as u64, report["group_count"].as_u64().unwrap());
    let grouped: u64 = groups.iter().map(|g| g["count"].as_u64().unwrap()).sum();
    assert_eq!(grouped, kept, "every kept question in exactly one group");

    println!(
        "{total} messages from {USERS} users in {seconds:.1} s; outcomes {expected:?}; kept {kept} in {} groups",
        groups.len()
    );
    let (_, text) = kefu(&["report", "--dev", &dev.base, "--top", "15"]);
    println!("{text}");
}
