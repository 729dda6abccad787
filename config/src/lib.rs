//! regstat's configuration: one TOML file declaring sources, indicators, clusters and outputs.
//!
//! Loading is two steps, as in ripgrep's flags: the file is deserialized as written, then converted
//! once into [`Config`], whose schedules, URLs, time zones and selectors are typed values
//! ([`typed`]); the conversion also checks what serde cannot (references between sections, region
//! codes) and names the key and line of every problem, all of them at once.

mod locate;
mod model;
mod source;
pub mod typed;
mod zone;

use std::path::{Path, PathBuf};

pub use model::*;
pub use source::{
    DocumentListOptions, EmissOptions, ParserOptions, SourceConfig, SourceKind,
    DEFAULT_LINK_SELECTOR,
};
pub use typed::{LinkSelector, Schedule};
pub use zone::{Zone, ZoneOffset};

/// One problem in a config file, with the dotted key and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // Not a `source` field: the message carries the OS error, and a chain would say it twice.
    #[error("cannot read config {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {}", issues.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid {
        path: PathBuf,
        issues: Vec<ConfigIssue>,
    },
}

impl Config {
    /// Reads, parses and validates a config file. Relative output paths are resolved against the
    /// file's directory, so a config means the same wherever the daemon is started.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
        let mut config = Config::parse_in(&text, &base).map_err(|issues| ConfigError::Invalid {
            path: path.to_path_buf(),
            issues,
        })?;
        if let Some(dir) = path.parent() {
            config.outputs.resolve_against(dir);
        }
        Ok(config)
    }

    /// Parses and validates config text; every problem found is returned, each located. Relative
    /// paths of `file` sources are read against the current directory.
    pub fn parse(text: &str) -> Result<Config, Vec<ConfigIssue>> {
        let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        Config::parse_in(text, &here)
    }

    /// [`Config::parse`] with relative `file` source paths read against `base`.
    pub fn parse_in(text: &str, base: &Path) -> Result<Config, Vec<ConfigIssue>> {
        let raw: model::RawConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| locate::line_of(text, s.start));
            let message = e.message().to_string();
            let key =
                locate::key_at(text, e.span().map(|s| s.start)).unwrap_or_else(|| "(file)".into());
            vec![ConfigIssue { key, line, message }]
        })?;
        let issues = match raw.check(base) {
            Ok(config) => return Ok(config),
            Err(issues) => issues,
        };
        let doc = toml_edit::Document::parse(text).ok();
        let mut issues: Vec<ConfigIssue> = issues
            .into_iter()
            .map(|(key, message)| {
                let line = doc
                    .as_ref()
                    .and_then(|d| locate::line_of_key(d, text, &key));
                ConfigIssue { key, line, message }
            })
            .collect();
        // In the file's order, as a reader fixes them.
        issues.sort_by_key(|i| i.line.unwrap_or(usize::MAX));
        Err(issues)
    }
}

#[cfg(test)]
mod tests;
