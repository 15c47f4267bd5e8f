//! The documented examples are real: the rules example of docs/rules.md (the README links it) is
//! a valid rule set that matches as the text says.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use kefu::protocol::Message;
use kefu::rules::{Route, RuleSet};

const README: &str = include_str!("../../docs/rules.md");

fn rules_example() -> String {
    let section = README.split("# Rules").nth(1).expect("a Rules title");
    let block = section.split("```json").nth(1).expect("a json block");
    block.split("```").next().unwrap().to_owned()
}

fn text(content: &str) -> Message {
    Message::from_json(
        &serde_json::json!({"ToUserName": "gh_1", "FromUserName": "o1", "CreateTime": 1,
        "MsgType": "text", "Content": content, "MsgId": 1})
        .to_string(),
    )
    .unwrap()
}

/// The example has no schedule: any instant will do.
trait RouteNow {
    fn route_now(&self, message: &Message) -> Route<'_>;
}

impl RouteNow for RuleSet {
    fn route_now(&self, message: &Message) -> Route<'_> {
        self.route(message, 0)
    }
}

#[test]
fn the_rules_example_in_the_readme_is_valid_and_routes_as_described() {
    let rules = RuleSet::from_json(&rules_example()).unwrap();
    assert_eq!(
        rules.route_now(&text("人工")),
        Route::Transfer { rule: "human" }
    );
    assert_eq!(
        rules.route_now(&text("请问营业时间")),
        Route::Enqueue {
            rule: Some("hours")
        }
    );
    assert_eq!(
        rules.route_now(&text("订单123")),
        Route::Enqueue {
            rule: Some("order")
        }
    );
    assert_eq!(
        rules.route_now(&text("AB123456")),
        Route::Enqueue { rule: Some("code") }
    );
    assert_eq!(
        rules.route_now(&text("随便说说")),
        Route::Enqueue { rule: None }
    );
}

/// The schedule example: `human` transfers on a weekday at 10:00 and answers at 22:30 on a
/// Saturday, and the default follows the same schedule.
#[test]
fn the_schedule_example_in_the_readme_is_valid_and_decides_by_the_clock() {
    let section = README.split("# Rules").nth(1).expect("a Rules title");
    let block = section
        .split("```json")
        .nth(2)
        .expect("a second json block");
    let rules = RuleSet::from_json(block.split("```").next().unwrap()).unwrap();
    // 2026-12-04 (Friday) 10:00 and 2026-12-05 (Saturday) 22:30 in Shanghai.
    let (friday_10, saturday_22_30) = (1_796_349_600_000, 1_796_481_000_000);
    assert_eq!(
        rules.route(&text("人工"), friday_10),
        Route::Transfer { rule: "human" }
    );
    assert_eq!(
        rules.route(&text("人工"), saturday_22_30),
        Route::Enqueue {
            rule: Some("human")
        }
    );
    let (_, open) = rules.action_for(&text("随便"), friday_10).unwrap();
    let (_, closed) = rules.action_for(&text("随便"), saturday_22_30).unwrap();
    assert_eq!(Some(open.as_ref()), rules.default.as_ref());
    assert_eq!(Some(closed.as_ref()), rules.default_otherwise.as_ref());
}
