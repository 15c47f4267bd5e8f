//! `template.yaml` as the tests read it: the YAML, its resources and their properties, and
//! CloudFormation's values with the intrinsic functions in one form whichever way they are
//! written (the short `!Ref`/`!GetAtt`/`!Sub`/`!If` tags and the long `Ref`/`Fn::GetAtt`/
//! `Fn::Sub`/`Fn::If` mappings alike); what SAM fills in when the template leaves it out (a
//! function's timeout), and what a `!Ref` in the environment becomes at deploy time.
//!
//! A test fixture: a template that does not read as expected is a broken test, so the readers
//! panic with what is missing.

#![allow(clippy::indexing_slicing)] // a YAML value's [] is Null where nothing is, never a panic

use std::time::Duration;

use serde_norway::Value;

/// The template, compiled in.
pub const TEMPLATE: &str = include_str!("../../template.yaml");

/// SAM's default function timeout, when neither the function nor `Globals` sets one.
const SAM_DEFAULT_TIMEOUT_SECS: u64 = 3;

/// The template, parsed.
pub fn template() -> Value {
    serde_norway::from_str(TEMPLATE).expect("template.yaml is not valid YAML")
}

/// A CloudFormation value, intrinsic functions normalized to one form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A plain scalar, as text.
    Literal(String),
    /// `!Ref Name`.
    Ref(String),
    /// `!GetAtt Resource.Attribute`.
    GetAtt(String),
    /// `!Sub "template"` (without a variable map).
    Sub(String),
    /// Anything else, as YAML.
    Other(String),
}

pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn expr(value: &Value) -> Expr {
    let other = || Expr::Other(serde_norway::to_string(value).unwrap_or_default());
    let (function, argument) = match value {
        Value::Tagged(tagged) => (tagged.tag.to_string(), &tagged.value),
        Value::Mapping(map) if map.len() == 1 => {
            let Some((Some(key), argument)) = map.iter().next().map(|(k, a)| (k.as_str(), a))
            else {
                return other();
            };
            (format!("!{}", key.trim_start_matches("Fn::")), argument)
        }
        _ => return scalar(value).map_or_else(other, Expr::Literal),
    };
    match (function.as_str(), argument) {
        ("!Ref", Value::String(name)) => Expr::Ref(name.clone()),
        ("!GetAtt", Value::String(path)) => Expr::GetAtt(path.clone()),
        ("!GetAtt", Value::Sequence(parts)) => {
            let parts: Option<Vec<&str>> = parts.iter().map(Value::as_str).collect();
            parts.map_or_else(other, |parts| Expr::GetAtt(parts.join(".")))
        }
        ("!Sub", Value::String(template)) => Expr::Sub(template.clone()),
        _ => other(),
    }
}

pub fn get_att(path: &str) -> Expr {
    Expr::GetAtt(path.to_owned())
}

pub fn sub(template: &str) -> Expr {
    Expr::Sub(template.to_owned())
}

/// A value that may be one item or a list of them, as a list.
pub fn items(value: &Value) -> Vec<&Value> {
    match value {
        Value::Sequence(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    }
}

pub fn resource<'a>(template: &'a Value, name: &str) -> &'a Value {
    template["Resources"]
        .get(name)
        .unwrap_or_else(|| panic!("template.yaml has no resource {name}"))
}

pub fn properties<'a>(template: &'a Value, name: &str) -> &'a Value {
    resource(template, name)
        .get("Properties")
        .unwrap_or_else(|| panic!("resource {name} has no Properties"))
}

/// The function's `Timeout`, else the `Globals` one, else SAM's default.
pub fn timeout(template: &Value, function: &str) -> Duration {
    let value = properties(template, function)
        .get("Timeout")
        .or_else(|| template["Globals"]["Function"].get("Timeout"));
    let secs = value.map_or(SAM_DEFAULT_TIMEOUT_SECS, |v| {
        v.as_u64()
            .unwrap_or_else(|| panic!("{function}'s Timeout is not a whole number: {v:?}"))
    });
    Duration::from_secs(secs)
}

/// A `!If [condition, then, else]`'s three parts.
pub fn if_parts(value: &Value) -> Option<(String, Value, Value)> {
    let (tag, argument) = match value {
        Value::Tagged(tagged) => (tagged.tag.to_string(), &tagged.value),
        Value::Mapping(map) if map.len() == 1 => {
            let (key, argument) = map.iter().next()?;
            (
                format!("!{}", key.as_str()?.trim_start_matches("Fn::")),
                argument,
            )
        }
        _ => return None,
    };
    let parts = argument.as_sequence().filter(|_| tag == "!If")?;
    match parts.as_slice() {
        [condition, then, otherwise] => Some((
            condition.as_str()?.to_owned(),
            then.clone(),
            otherwise.clone(),
        )),
        _ => None,
    }
}

/// What a `!Ref` in the environment becomes at deploy time, near enough for `Config`: a
/// parameter's default (or first allowed value, or a placeholder), a resource's name.
pub fn resolve(template: &Value, value: &Value) -> String {
    match expr(value) {
        Expr::Literal(text) => text,
        Expr::Ref(name) => match template["Parameters"].get(&name) {
            Some(parameter) => parameter
                .get("Default")
                .and_then(scalar)
                .or_else(|| {
                    items(&parameter["AllowedValues"])
                        .first()
                        .and_then(|v| scalar(v))
                })
                .unwrap_or_else(|| format!("{name}-value")),
            None => {
                resource(template, &name);
                format!("{name}-physical-id")
            }
        },
        Expr::GetAtt(path) => {
            let (name, _) = path.split_once('.').unwrap_or((&path, ""));
            resource(template, name);
            format!("{path}-value")
        }
        other => panic!("environment value {other:?}: no rule to resolve it"),
    }
}
