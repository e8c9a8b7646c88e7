//! Filter rules in force together with the text they were parsed from: what a started VM keeps
//! (the text, so every later render numbers the rules as the user's file did) and what a plan
//! renders (the rules). Parsed where it enters, so holding one means the text is valid.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::filter::{FilterParseError, FilterRules};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleText {
    text: String,
    rules: FilterRules,
}

impl RuleText {
    /// The rules of `text`, or `None` when it holds none (comments only): no rules in force.
    pub fn parse_non_empty(text: &str) -> Result<Option<RuleText>, FilterParseError> {
        let rules: RuleText = text.parse()?;
        Ok((!rules.rules.is_empty()).then_some(rules))
    }
}

impl Deref for RuleText {
    type Target = FilterRules;

    fn deref(&self) -> &FilterRules {
        &self.rules
    }
}

impl FromStr for RuleText {
    type Err = FilterParseError;

    fn from_str(text: &str) -> Result<Self, FilterParseError> {
        Ok(RuleText {
            rules: text.parse()?,
            text: text.to_owned(),
        })
    }
}

impl fmt::Display for RuleText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for RuleText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for RuleText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|e| serde::de::Error::custom(format!("filter rules: {e}")))
    }
}
