//! `kefu rules test`: which rule answers a message at a local time, and what would be sent —
//! the push it asks about, the rule set's explanation, the knowledge base's decision, the
//! messages rendered.

use kefu::protocol::Message;
use kefu::rules::calendar::Date;
use kefu::rules::{Action, FaqDecision, FaqEntry, ReplyMessage, RuleSet};
use kefu::sample;
use kefu::send::render::{self, Placeholders};

use crate::paint::{Colour, paint};

/// The instant of a local `YYYY-MM-DDTHH:MM` in the rule set's zone.
pub(super) fn local_instant(rules: &RuleSet, at: &str) -> anyhow::Result<i64> {
    let zone = rules.zone().map_err(anyhow::Error::msg)?;
    let bad = || anyhow::anyhow!("--at {at:?} is not YYYY-MM-DDTHH:MM (e.g. 2026-12-05T22:30)");
    let (date, time) = at.split_once(['T', ' ']).ok_or_else(bad)?;
    let date = Date::parse(date).ok_or_else(bad)?;
    let (hours, minutes) = time.split_once(':').ok_or_else(bad)?;
    let number = |text: &str, below: u16| {
        (text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u16>().ok())
            .flatten()
            .filter(|n| *n < below)
    };
    let (hours, minutes) = (
        number(hours, 24).ok_or_else(bad)?,
        number(minutes, 60).ok_or_else(bad)?,
    );
    Ok(zone.instant(date, hours * 60 + minutes))
}

/// The push `kefu rules test` asks about.
pub(super) fn test_message(
    text: Option<&str>,
    msg_type: Option<&str>,
    event: Option<&str>,
    extra: &[(String, String)],
) -> anyhow::Result<Message> {
    let mut fields = serde_json::Map::new();
    for (key, value) in [
        ("ToUserName", serde_json::json!(sample::ORIGINAL_ID)),
        ("FromUserName", serde_json::json!(sample::OPENID)),
        ("CreateTime", serde_json::json!(1)),
        ("MsgId", serde_json::json!(1)),
    ] {
        fields.insert(key.into(), value);
    }
    match (text, msg_type, event) {
        (_, _, Some(event)) => {
            fields.remove("MsgId");
            fields.insert("MsgType".into(), "event".into());
            fields.insert("Event".into(), event.into());
        }
        (_, Some(msg_type), _) => {
            fields.insert("MsgType".into(), msg_type.into());
        }
        (Some(text), _, _) => {
            fields.insert("MsgType".into(), "text".into());
            fields.insert("Content".into(), text.into());
        }
        _ => anyhow::bail!("give the user's text, --type or --event"),
    }
    for (name, value) in extra {
        fields.insert(name.clone(), value.clone().into());
    }
    let fields = serde_json::Value::Object(fields);
    Ok(Message::from_json(&fields.to_string())?)
}

/// What the knowledge base decided for `kefu rules test`: who answers (`faq entry refund`,
/// `faq suggestion`, …) and the decision as JSON; `None` when it was not asked (a rule
/// answered, or the message is not text).
fn faq_decision(
    rules: &RuleSet,
    message: &Message,
    now: i64,
) -> Option<(String, serde_json::Value)> {
    let decision = rules.decide(message, now);
    let faq = rules.faq.as_deref()?;
    let text = match &message.kind {
        kefu::protocol::MessageKind::Text { content } => content.trim(),
        _ => "",
    };
    let scored = |(entry, score): &(&FaqEntry, f32)| serde_json::json!({"entry": entry.id, "score": rounded(*score)});
    Some(match decision.faq? {
        FaqDecision::Answer {
            entry,
            score,
            runner_up,
        } => (
            format!("faq entry {}", entry.id),
            serde_json::json!({
                "decision": "answer",
                "entry": entry.id,
                "score": rounded(score),
                "runner_up": runner_up.as_ref().map(scored),
                "shared_words": faq.shared_words(text, entry),
            }),
        ),
        FaqDecision::Suggest(candidates) => (
            "faq suggestion".to_owned(),
            serde_json::json!({
                "decision": "suggest",
                "suggestions": candidates.iter().map(scored).collect::<Vec<_>>(),
            }),
        ),
        FaqDecision::Choice(n) => (
            "faq choice".to_owned(),
            serde_json::json!({"decision": "choice", "number": n}),
        ),
        FaqDecision::Nothing(why) => (
            "default".to_owned(),
            serde_json::json!({"decision": "nothing", "why": why}),
        ),
    })
}

/// A score as it is shown: two decimals.
fn rounded(score: f32) -> f64 {
    (f64::from(score) * 100.0).round() / 100.0
}

pub(super) fn test(
    rules: &RuleSet,
    message: &Message,
    now: i64,
    json: bool,
) -> anyhow::Result<String> {
    let explanation = rules.explain(message, now);
    let faq = faq_decision(rules, message, now);
    let zone = rules.zone().map_err(anyhow::Error::msg)?;
    let placeholders = Placeholders::new(message, &zone, now);
    let answer = rules.action_for(message, now);
    let sent: Vec<ReplyMessage> = match (
        explanation.outcome,
        answer.as_ref().map(|(_, action)| action.as_ref()),
    ) {
        ("reply", Some(Action::Send(messages))) => messages
            .iter()
            .map(|m| render::fill(m, &placeholders))
            .collect(),
        _ => Vec::new(),
    };
    // A hook's answer is its own system's: what is known is where it goes and its fallback.
    let hook = match answer.as_ref().map(|(_, action)| action.as_ref()) {
        Some(Action::Hook(hook)) if explanation.outcome == "reply" => Some(hook.as_ref().clone()),
        _ => None,
    };
    let local = zone.local(now);
    if json {
        return Ok(serde_json::json!({
            "hook": hook,
            "rule": explanation.rule,
            "index": explanation.index,
            "why": explanation.why,
            "outcome": explanation.outcome,
            "messages": sent,
            "at": format!("{}T{}", local.date, local.hh_mm()),
            "time_zone": zone.name(),
            "passed_over": explanation.passed_over,
            "faq": faq.as_ref().map(|(_, decision)| decision),
        })
        .to_string());
    }
    let who = match (&explanation.rule, &faq) {
        (Some(rule), _) => rule.clone(),
        (None, Some((who, _))) => who.clone(),
        (None, None) => "default".to_owned(),
    };
    // `faq entry refund: … — score 0.94; runner-up …`, not the entry named twice.
    let why = explanation
        .why
        .strip_prefix(&format!("{who} ("))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or(&explanation.why);
    let mut lines = vec![match explanation.outcome {
        "transfer" => format!(
            "{who}: transfer to a human agent (transfer_customer_service) — {}",
            why
        ),
        "reply" if hook.is_some() => {
            let hook = hook.as_ref().map_or_else(String::new, |hook| {
                let target = hook.url.as_deref().or(hook.lambda.as_deref()).unwrap_or("");
                format!(
                    "a hook, {target} (waits {} ms), sends what it answers; its fallback: {}",
                    hook.timeout().as_millis(),
                    hook.fallback.as_ref().map_or_else(
                        || "the default reply".to_owned(),
                        |f| serde_json::to_string(f).unwrap_or_default()
                    )
                )
            });
            format!("{who}: {hook} — {why}")
        }
        "reply" => format!("{who}: {} message(s) — {}", sent.len(), why),
        _ => format!("no rule answers: acknowledged, nothing sent — {}", why),
    }];
    lines.extend(
        sent.iter()
            .map(|m| format!("  {}", serde_json::to_string(m).unwrap_or_default())),
    );
    lines.extend(explanation.passed_over.iter().map(|passed| {
        format!(
            "  passed over rules[{}] ({}): {}",
            passed.index, passed.rule, passed.why
        )
    }));
    Ok(paint(&lines.join("\n"), Colour::Cyan))
}
