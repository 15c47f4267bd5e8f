//! The rules' check: what is under the rules path, loaded and validated as `kefu rules
//! validate` does.

use kefu::aws::Aws;
use kefu::ports::RuleSource as _;
use kefu::rules::Severity;

use super::check::{Check, Status};
use crate::aws_args::tell;

pub(super) async fn check_rules(aws: &Aws, path: &str) -> Check {
    let source = aws.rules(path);
    let nothing = matches!(source.fetch().await, Ok(found) if found.is_empty());
    let rules = match source.load().await {
        Ok(rules) => rules,
        Err(_) if nothing => {
            return Check::new(
                "rules",
                Status::Fail,
                format!(
                    "nothing under {path}: push a rules file with `kefu rules push FILE --path {path}`"
                ),
            );
        }
        Err(err) => {
            return Check::new(
                "rules",
                Status::Fail,
                format!("{path}: {}", tell(&err.to_string())),
            );
        }
    };
    // Images cannot be checked from here: they are built into the deployed reply function.
    let findings = crate::rules::findings(&rules, None);
    let summary = format!("{path}: {}", crate::rules::summary(&rules));
    let worst = findings
        .iter()
        .map(|f| f.severity)
        .fold(Status::Ok, |worst, s| match (worst, s) {
            (Status::Fail, _) | (_, Severity::Error) => Status::Fail,
            _ => Status::Warn,
        });
    if findings.is_empty() {
        Check::new("rules", Status::Ok, summary)
    } else {
        let told: Vec<String> = findings.iter().map(ToString::to_string).collect();
        Check::new(
            "rules",
            worst,
            format!("{summary}; {} (kefu rules validate)", told.join("; ")),
        )
    }
}
