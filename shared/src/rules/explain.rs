//! Why a message gets the answer it gets: the rule that matched, the conditions that made it
//! match and the schedule part that let it apply, in words — and, for the rules tried before it
//! that almost applied, which condition or schedule part failed — for `kefu dev`'s inspector
//! and `kefu rules test`. It uses the same decision as the functions (`matching.rs`), so what
//! it says is what they do.

use serde::Serialize;

use super::matching::Route;
use super::model::{Action, RuleSet};
use crate::protocol::{Message, MessageKind};

/// The rule that answers a message, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The matching rule's name; `None` when the default answers or nothing does.
    pub rule: Option<String>,
    /// Its position in `rules` (0-based).
    pub index: Option<usize>,
    /// Why, in words: `exact "人工"`, `msg_type image`, `no rule matched: the default reply`,
    /// `exact "人工"; closed: sat is not among mon, …: otherwise`, …
    pub why: String,
    /// What `receive` does with the push: `transfer`, `reply` or `nothing`.
    pub outcome: &'static str,
    /// Rules tried first that almost applied, and what failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub passed_over: Vec<PassedOver>,
}

/// A rule passed over although part of it held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PassedOver {
    pub index: usize,
    pub rule: String,
    /// The condition that failed (`msg_type: image is none of "text"`), or the schedule part
    /// (`exact "人工"; closed: 21:00 is outside 09:00-21:00 (…), and it has no otherwise`).
    pub why: String,
}

impl RuleSet {
    /// Which rule answers `message` at `now` (ms since the epoch), why, and what `receive`
    /// does with it.
    pub fn explain(&self, message: &Message, now: i64) -> Explanation {
        let is_event = matches!(message.kind, MessageKind::Event(_));
        let outcome = match self.route(message, now) {
            Route::Transfer { .. } => "transfer",
            Route::Enqueue { .. } => "reply",
            Route::Ignore => "nothing",
        };
        let decision = self.decide(message, now);
        let mut why = decision.why;
        if is_event && decision.action.as_deref() == Some(&Action::Transfer) {
            why.push_str(": transfer never applies to events, nothing happens");
        }
        Explanation {
            rule: decision.rule.map(|(_, rule)| rule.name.clone()),
            index: decision.rule.map(|(index, _)| index),
            why,
            outcome,
            passed_over: decision
                .passed_over
                .into_iter()
                .map(|(index, rule, why)| PassedOver {
                    index,
                    rule: rule.name.clone(),
                    why,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn message(json: serde_json::Value) -> Message {
        let mut fields = serde_json::json!({"ToUserName": "gh", "FromUserName": "o1", "CreateTime": 1, "MsgId": 1});
        if let (Some(base), Some(extra)) = (fields.as_object_mut(), json.as_object()) {
            base.extend(extra.clone());
        }
        Message::from_json(&fields.to_string()).unwrap()
    }

    fn text(content: &str) -> Message {
        message(serde_json::json!({"MsgType": "text", "Content": content}))
    }

    /// Any instant will do for rules without schedules.
    trait ExplainNow {
        fn explain_now(&self, message: &Message) -> Explanation;
    }

    impl ExplainNow for RuleSet {
        fn explain_now(&self, message: &Message) -> Explanation {
            self.explain(message, 0)
        }
    }

    #[test]
    fn an_faq_answer_closer_than_the_lead_names_the_words_that_decided() {
        // The coffee evaluation set's knowledge base: its five points entries share 积分.
        let set: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../rules/faq/eval/coffee.json"
            ))
            .unwrap(),
        )
        .unwrap();
        let rules =
            RuleSet::from_json(&serde_json::json!({"faq": set["faq"]}).to_string()).unwrap();
        let why = rules.explain_now(&text("积分明细去哪查")).why;
        assert!(why.starts_with("faq entry points-check"), "{why}");
        let (_, words) = why
            .split_once("decided by words it has and points-redeem lacks: ")
            .unwrap_or_else(|| panic!("{why}"));
        assert!(!words.starts_with(')'), "no words named: {why}");
    }

    #[test]
    fn the_sample_rules_explain_themselves() {
        let rules = crate::sample::rules();
        let human = rules.explain_now(&text(" 人工 "));
        assert_eq!(human.rule.as_deref(), Some("human"));
        assert_eq!(human.index, Some(0));
        assert_eq!(human.why, "exact \"人工\"");
        assert_eq!(human.outcome, "transfer");

        let hours = rules.explain_now(&text("明天几点开门"));
        assert_eq!(
            (hours.rule.as_deref(), hours.why.as_str(), hours.outcome),
            (Some("hours"), "contains \"几点\"", "reply")
        );

        let other = rules.explain_now(&text("随便"));
        assert_eq!(other.rule, None);
        assert_eq!(other.why, "no rule matched: the default reply");

        let event = rules.explain_now(&message(
            serde_json::json!({"MsgType": "event", "Event": "kf_close_session", "KfAccount": "a"}),
        ));
        assert_eq!(event.outcome, "nothing");
        assert!(
            event.why.contains("no rule names event kf_close_session"),
            "{}",
            event.why
        );

        let enter = rules.explain_now(&message(
            serde_json::json!({"MsgType": "event", "Event": "user_enter_tempsession", "SessionFrom": "x"}),
        ));
        assert_eq!(enter.why, "event user_enter_tempsession");
    }

    #[test]
    fn a_transfer_rule_hit_by_an_event_says_that_nothing_happens() {
        let rules = RuleSet::from_json(
            r#"{"rules":[{"name":"all-events","match":{"msg_type":"event"},"action":"transfer"}]}"#,
        )
        .unwrap();
        let explained = rules.explain_now(&message(
            serde_json::json!({"MsgType": "event", "Event": "user_enter_tempsession", "SessionFrom": "x"}),
        ));
        assert_eq!(explained.outcome, "nothing");
        assert!(explained.why.contains("transfer never applies to events"));
    }

    /// What the README says of matching: trimmed (full-width spaces too), case-sensitive,
    /// regex-lite (no `\p{…}`, ASCII `\d`), `(?i)` to ignore case.
    #[test]
    fn matching_is_as_documented() {
        let rules = |json: &str| RuleSet::from_json(json).unwrap();
        let exact =
            rules(r#"{"rules":[{"name":"hi","match":{"exact":"Hi"},"action":"transfer"}]}"#);
        assert_eq!(
            exact.explain_now(&text("\u{3000} Hi \n")).rule.as_deref(),
            Some("hi")
        );
        assert_eq!(exact.explain_now(&text("hi")).rule, None);
        assert_eq!(exact.explain_now(&text("Ｈｉ")).rule, None);
        let insensitive =
            rules(r#"{"rules":[{"name":"hi","match":{"regex":"(?i)^hi$"},"action":"transfer"}]}"#);
        assert_eq!(
            insensitive.explain_now(&text("HI")).rule.as_deref(),
            Some("hi")
        );
        let digits =
            rules(r#"{"rules":[{"name":"n","match":{"regex":"^\\d+$"},"action":"transfer"}]}"#);
        assert_eq!(digits.explain_now(&text("123")).rule.as_deref(), Some("n"));
        assert_eq!(digits.explain_now(&text("１２３")).rule, None);
        let han = rules(
            r#"{"rules":[{"name":"han","match":{"regex":"^[一-龥]+$"},"action":"transfer"}]}"#,
        );
        assert_eq!(han.explain_now(&text("你好")).rule.as_deref(), Some("han"));
        assert_eq!(han.explain_now(&text("hi")).rule, None);
        assert!(
            RuleSet::from_json(
                r#"{"rules":[{"name":"han","match":{"regex":"\\p{Han}"},"action":"transfer"}]}"#
            )
            .is_err()
        );
    }

    #[test]
    fn a_schema_key_is_accepted_for_editors() {
        let rules = RuleSet::from_json(
            r#"{"$schema":"./schema.json","rules":[{"name":"hi","match":{"exact":"hi"},"action":"transfer"}]}"#,
        )
        .unwrap();
        assert_eq!(rules.schema.as_deref(), Some("./schema.json"));
        assert!(RuleSet::from_json(r#"{"$schemas":"x","rules":[]}"#).is_err());
    }

    /// 2026-12-04 (a Friday) 10:00 and 2026-12-05 (Saturday) 22:30 in Shanghai.
    const FRIDAY_10: i64 = 1_796_349_600_000;
    const SATURDAY_22_30: i64 = 1_796_481_000_000;

    fn business_hours() -> RuleSet {
        RuleSet::from_json(include_str!("../../../rules/business-hours.json")).unwrap()
    }

    #[test]
    fn a_scheduled_rule_transfers_inside_its_hours_and_answers_otherwise_outside() {
        let rules = business_hours();
        let inside = rules.explain(&text("人工"), FRIDAY_10);
        assert_eq!(inside.outcome, "transfer");
        assert_eq!(
            inside.why,
            "exact \"人工\"; open: fri is an open day, 10:00 in 09:00-21:00 (fri 2026-12-04 10:00 Asia/Shanghai)"
        );
        let outside = rules.explain(&text("人工"), SATURDAY_22_30);
        assert_eq!(
            (outside.rule.as_deref(), outside.outcome),
            (Some("human"), "reply")
        );
        assert_eq!(
            outside.why,
            "exact \"人工\"; closed: sat is not among mon, tue, wed, thu, fri (sat 2026-12-05 22:30 Asia/Shanghai): otherwise"
        );
        assert_eq!(
            rules.route(&text("人工"), SATURDAY_22_30),
            Route::Enqueue {
                rule: Some("human")
            }
        );
    }

    #[test]
    fn a_scheduled_rule_without_otherwise_is_passed_over_outside_its_hours() {
        let rules = RuleSet::from_json(
            r#"{"rules":[{"name":"human","match":{"exact":"人工"},"schedule":{"hours":["09:00-21:00"]},"action":"transfer"}],
                "default":{"reply":[{"type":"text","content":"稍后回复"}]}}"#,
        )
        .unwrap();
        let late = rules.explain(&text("人工"), SATURDAY_22_30);
        assert_eq!((late.rule, late.outcome), (None, "reply"));
        assert_eq!(late.passed_over.len(), 1);
        assert_eq!(
            late.passed_over[0].why,
            "exact \"人工\"; closed: 22:30 is outside 09:00-21:00 (sat 2026-12-05 22:30 Asia/Shanghai), and it has no otherwise"
        );
        assert_eq!(
            rules.route(&text("人工"), FRIDAY_10),
            Route::Transfer { rule: "human" }
        );
    }

    #[test]
    fn the_default_follows_its_schedule() {
        let rules = business_hours();
        let (_, open) = rules.action_for(&text("随便"), FRIDAY_10).unwrap();
        let (_, closed) = rules.action_for(&text("随便"), SATURDAY_22_30).unwrap();
        assert_eq!(Some(open.as_ref()), rules.default.as_ref());
        assert_eq!(Some(closed.as_ref()), rules.default_otherwise.as_ref());
        let why = rules.explain(&text("随便"), SATURDAY_22_30).why;
        assert!(
            why.starts_with("no rule matched; default closed: sat is not among"),
            "{why}"
        );
        assert!(why.ends_with(": default_otherwise reply"), "{why}");
        // Events never get the default, scheduled or not.
        assert_eq!(
            rules
                .explain_now(&message(serde_json::json!({"MsgType": "event", "Event": "kf_close_session", "KfAccount": "a"})))
                .outcome,
            "nothing"
        );
    }

    #[test]
    fn conditions_combine_and_the_failing_one_is_named() {
        let rules = business_hours();
        let refund = rules.explain_now(&text("我要退款"));
        assert_eq!(refund.rule.as_deref(), Some("refund"));
        assert_eq!(
            refund.why,
            "contains \"退款\" and msg_type text and not (contains: the text contains none of \"运费\")"
        );
        let freight = rules.explain_now(&text("退款运费谁出"));
        assert_eq!(freight.rule, None);
        assert_eq!(freight.passed_over.len(), 1);
        assert_eq!(freight.passed_over[0].rule, "refund");
        assert_eq!(
            freight.passed_over[0].why,
            "not: it holds (contains \"运费\")"
        );

        let enter = |from: &str| {
            message(
                serde_json::json!({"MsgType": "event", "Event": "user_enter_tempsession", "SessionFrom": from}),
            )
        };
        let from_order = rules.explain_now(&enter("order"));
        assert_eq!(from_order.rule.as_deref(), Some("welcome-from-order"));
        assert_eq!(
            from_order.why,
            "event user_enter_tempsession and session_from \"order\""
        );
        let from_home = rules.explain_now(&enter("home"));
        assert_eq!(from_home.rule.as_deref(), Some("welcome"));
        assert_eq!(
            from_home.passed_over[0].why,
            "session_from: \"home\" is none of \"order\", \"order-detail\""
        );

        let switch = rules.explain_now(&message(serde_json::json!(
            {"MsgType": "event", "Event": "kf_switch_session", "FromKfAccount": "a", "ToKfAccount": "b"})));
        assert_eq!(
            (switch.rule.as_deref(), switch.why.as_str()),
            (Some("agent-joined"), "any (event kf_switch_session)")
        );
    }

    #[test]
    fn any_and_not_explain_every_failure() {
        let rules = RuleSet::from_json(
            r#"{"rules":[{"name":"pics","match":{"msg_type":"text","any":[{"prefix":"图"},{"regex":"^pic"}]},"action":"transfer"},
                         {"name":"not-text","match":{"not":{"msg_type":"text"}},"action":{"reply":[{"type":"text","content":"只收文字"}]}}]}"#,
        )
        .unwrap();
        let miss = rules.explain_now(&text("你好"));
        assert_eq!(miss.rule, None);
        assert_eq!(
            miss.passed_over[0].why,
            "any: none holds (prefix: the text starts with none of \"图\"; regex: \"^pic\" does not match the text)"
        );
        let image = rules.explain_now(&message(
            serde_json::json!({"MsgType": "image", "PicUrl": "u", "MediaId": "m"}),
        ));
        assert_eq!(image.rule.as_deref(), Some("not-text"));
        assert_eq!(image.why, "not (msg_type: image is none of \"text\")");
        // A rule none of whose conditions held is not listed.
        assert!(image.passed_over.is_empty());
    }
}
