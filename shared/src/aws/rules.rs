//! Rules from SSM Parameter Store. A small set is one parameter; a large one spans several under
//! one path (`/kefu/rules/000`, `/kefu/rules/001`, …, each a rule-set fragment), merged in name
//! order: rules concatenated, `default` from whichever fragment has it.

use async_trait::async_trait;
use aws_sdk_ssm::Client;

use super::describe;
use crate::ports::{PortError, RuleSource};
use crate::rules::RuleSet;

#[derive(Debug, Clone)]
pub struct SsmRules {
    client: Client,
    path: String,
}

impl SsmRules {
    pub fn new(client: Client, path: impl Into<String>) -> Self {
        Self {
            client,
            path: path.into(),
        }
    }

    /// The raw `(name, value)` parameters holding the rules, in name order.
    pub async fn fetch(&self) -> Result<Vec<(String, String)>, PortError> {
        let mut parameters = Vec::new();
        let mut pages = self
            .client
            .get_parameters_by_path()
            .path(self.path.trim_end_matches('/'))
            .recursive(true)
            .with_decryption(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| PortError::new("read rules", describe(&err)))?;
            for parameter in page.parameters.unwrap_or_default() {
                if let (Some(name), Some(value)) = (parameter.name, parameter.value) {
                    parameters.push((name, value));
                }
            }
        }
        if parameters.is_empty() {
            // The path may name a single parameter.
            let single = self
                .client
                .get_parameter()
                .name(self.path.trim_end_matches('/'))
                .with_decryption(true)
                .send()
                .await
                .map_err(|err| PortError::new("read rules", describe(&err)))?;
            if let Some(value) = single.parameter.and_then(|p| p.value) {
                parameters.push((self.path.clone(), value));
            }
        }
        parameters.sort();
        Ok(parameters)
    }
}

#[async_trait]
impl RuleSource for SsmRules {
    async fn load(&self) -> Result<RuleSet, PortError> {
        let mut merged = RuleSet::default();
        for (name, value) in self.fetch().await? {
            let fragment = RuleSet::from_json(&value)
                .map_err(|e| PortError::new("parse rules", format!("{name}: {e}")))?;
            merged.rules.extend(fragment.rules);
            if fragment.default.is_some() {
                merged.default = fragment.default;
            }
        }
        merged
            .validate()
            .map_err(|e| PortError::new("validate merged rules", e))?;
        Ok(merged)
    }
}
