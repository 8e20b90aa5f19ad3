//! Service patterns for our-side SMS filtering (`config/services.toml`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use regex::RegexSet;
use serde::Deserialize;
use simrelay_actors::domain::ServiceName;
use simrelay_actors::SmsFilter;

const BUILTIN: &str = include_str!("../../config/services.toml");

/// Per service, the patterns an SMS (sender or text) must match to belong to it.
#[derive(Debug, Clone)]
pub struct ServicePatterns {
    by_service: HashMap<ServiceName, RegexSet>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    services: HashMap<ServiceName, Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    patterns: Vec<String>,
}

impl ServicePatterns {
    /// The patterns shipped in `config/services.toml`.
    pub fn builtin() -> anyhow::Result<ServicePatterns> {
        ServicePatterns::parse(BUILTIN).context("config/services.toml")
    }

    /// Patterns from a file in the same format.
    pub fn from_file(path: &Path) -> anyhow::Result<ServicePatterns> {
        ServicePatterns::parse(&std::fs::read_to_string(path)?)
    }

    fn parse(text: &str) -> anyhow::Result<ServicePatterns> {
        let file: File = toml::from_str(text)?;
        let mut by_service = HashMap::new();
        for (service, entry) in file.services {
            let set = regex::RegexSetBuilder::new(&entry.patterns)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .with_context(|| format!("services.{service}.patterns"))?;
            by_service.insert(service, set);
        }
        Ok(ServicePatterns { by_service })
    }

    /// Whether an SMS belongs to a service; services without patterns accept everything.
    pub fn belongs(&self, service: &ServiceName, from: &str, text: &str) -> bool {
        self.by_service
            .get(service)
            .is_none_or(|set| set.is_match(from) || set.is_match(text))
    }

    /// The engine's filter.
    pub fn into_filter(self) -> SmsFilter {
        let patterns = Arc::new(self);
        SmsFilter::new(move |service, from, text| patterns.belongs(service, from, text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_sender_or_text_and_passes_unknown_services() {
        let p = ServicePatterns::builtin().unwrap();
        let vk = ServiceName::parse("vk").unwrap();
        let tg = ServiceName::parse("tg").unwrap();
        assert!(p.belongs(&vk, "VK", "Your code 12345"));
        assert!(p.belongs(&vk, "+79000000000", "VK: 33708 — код подтверждения"));
        assert!(!p.belongs(&vk, "Telegram", "Telegram code 55555"));
        assert!(p.belongs(&tg, "Telegram", "Telegram code 55555"));
        assert!(p.belongs(&ServiceName::parse("zz").unwrap(), "x", "y"));
    }
}
