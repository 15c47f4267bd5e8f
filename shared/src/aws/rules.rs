//! Rules in SSM Parameter Store, in the layout of `rules::fragments`: read (the `RuleSource`
//! port) and written (`kefu rules push`).
//!
//! The rules path belongs to the operator (`kefu rules push`); the stack creates its starting
//! set in a parameter of its own beside it (the starter), read only while the path holds
//! nothing. So CloudFormation and the CLI never write the same parameter: no stack drift, and a
//! `sam deploy` never puts the starting set back over the operator's rules.

use async_trait::async_trait;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::ParameterType;

use super::{describe, parameters_under};
use crate::ports::{PortError, RuleSource};
use crate::rules::RuleSet;
use crate::rules::fragments::{self, FragmentError};

#[derive(Debug, Clone)]
pub struct SsmRules {
    client: Client,
    path: String,
    /// The parameter read while the path holds no rules.
    starter: Option<String>,
    /// The rules read while the path (and the starter) hold none: an app's rules fall back to
    /// the deployment's shared rules.
    fallback: Option<Box<SsmRules>>,
}

/// What a publish wrote and removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The fragments written, in order.
    pub written: Vec<String>,
    /// Fragments of an earlier, larger set that were deleted.
    pub removed: Vec<String>,
}

impl SsmRules {
    pub fn new(client: Client, path: impl Into<String>) -> Self {
        Self {
            client,
            path: path.into().trim_end_matches('/').to_owned(),
            starter: None,
            fallback: None,
        }
    }

    /// Reads `fallback` while the path holds no rules.
    pub fn or_else(mut self, fallback: SsmRules) -> Self {
        self.fallback = Some(Box::new(fallback));
        self
    }

    /// Reads `starter` while the path holds no rules (the stack's starting set).
    pub fn with_starter(mut self, starter: Option<String>) -> Self {
        self.starter = starter;
        self
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// The raw `(name, value)` parameters under the path (or the path itself, as a single
    /// parameter), in name order; none if there is nothing there.
    pub async fn fetch(&self) -> Result<Vec<(String, String)>, PortError> {
        let mut parameters: Vec<(String, String)> =
            parameters_under(&self.client, &self.path, true, "read rules")
                .await?
                .into_iter()
                .filter_map(|parameter| Some((parameter.name?, parameter.value?)))
                .collect();
        if parameters.is_empty() {
            // The path may name a single parameter.
            if let Some(value) = self.parameter(&self.path).await? {
                parameters.push((self.path.clone(), value));
            }
        }
        parameters.sort();
        Ok(parameters)
    }

    /// One parameter's value; none if it does not exist.
    async fn parameter(&self, name: &str) -> Result<Option<String>, PortError> {
        match self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
        {
            Ok(found) => Ok(found.parameter.and_then(|p| p.value)),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_parameter_not_found()) =>
            {
                Ok(None)
            }
            Err(err) => Err(PortError::new("read rules", describe(&err))),
        }
    }

    /// Writes `rules` as fragments under the path and deletes fragments left over from a larger
    /// set.
    pub async fn publish(&self, rules: &RuleSet) -> Result<Published, PortError> {
        let fragments = fragments::split(rules).map_err(|e| PortError::new("split rules", e))?;
        // Nothing there yet is not an error: this is the first push.
        let existing = self.fetch().await.unwrap_or_default();
        let mut written = Vec::new();
        for (n, fragment) in fragments.into_iter().enumerate() {
            let name = fragments::fragment_name(&self.path, n);
            self.client
                .put_parameter()
                .name(&name)
                .value(fragment)
                .r#type(ParameterType::String)
                .overwrite(true)
                .send()
                .await
                .map_err(|e| PortError::new("write rules", format!("{name}: {}", describe(&e))))?;
            written.push(name);
        }
        let removed: Vec<String> = existing
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| !written.contains(name))
            .collect();
        for name in &removed {
            self.client
                .delete_parameter()
                .name(name)
                .send()
                .await
                .map_err(|e| PortError::new("delete rules", format!("{name}: {}", describe(&e))))?;
        }
        Ok(Published { written, removed })
    }
}

#[async_trait]
impl RuleSource for SsmRules {
    async fn load(&self) -> Result<RuleSet, PortError> {
        let mut parameters = self.fetch().await?;
        if let (true, Some(starter)) = (parameters.is_empty(), &self.starter)
            && let Some(value) = self.parameter(starter).await?
        {
            parameters.push((starter.clone(), value));
        }
        if let (true, Some(fallback)) = (parameters.is_empty(), &self.fallback) {
            return fallback.load().await;
        }
        if parameters.is_empty() {
            return Err(PortError::new(
                "read rules",
                format!(
                    "no rules at {} (push some with `kefu rules push`)",
                    self.path
                ),
            ));
        }
        fragments::merge(parameters).map_err(|err| match err {
            FragmentError::Invalid { name, source } => {
                PortError::new("parse rules", format!("{name}: {source}"))
            }
            FragmentError::Merged(source) => PortError::new("validate merged rules", source),
            other => PortError::new("read rules", other),
        })
    }
}
