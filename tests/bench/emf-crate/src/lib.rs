//! kefu's hand-written EMF line, as `kefu::metrics::outcome_line` writes it (copied: this
//! crate is outside kefu's workspace, so that kefu's builds never build the exporter).

/// One `messages` count of `app`'s `outcome` (and the rule or entry `id`), dimension sets
/// `[outcome]`, `[app, outcome]` and, with an id, `[app, outcome, id]`.
pub fn outcome_line(app: &str, outcome: &str, id: Option<&str>, timestamp: u128) -> String {
    let mut dimensions = vec![
        serde_json::json!(["outcome"]),
        serde_json::json!(["app", "outcome"]),
    ];
    if id.is_some() {
        dimensions.push(serde_json::json!(["app", "outcome", "id"]));
    }
    let mut line = serde_json::Map::new();
    line.insert(
        "_aws".into(),
        serde_json::json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": "kefu",
                "Dimensions": dimensions,
                "Metrics": [{"Name": "messages", "Unit": "Count"}]
            }]
        }),
    );
    line.insert("app".into(), app.into());
    line.insert("outcome".into(), outcome.into());
    if let Some(id) = id {
        line.insert("id".into(), id.into());
    }
    line.insert("messages".into(), 1.into());
    serde_json::Value::Object(line).to_string()
}
