//! regstat's configuration: one TOML file declaring sources, indicators, clusters and outputs.
//!
//! Loading is two steps, as in ripgrep's flags: the raw file is deserialized into [`Config`], then
//! [`Config::validate`] checks what serde cannot (cron expressions, URLs, references between sections,
//! region codes) and names the key and line of every problem, all of them at once.

mod locate;
mod model;

use std::path::{Path, PathBuf};

pub use model::*;

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
        let mut config = Config::parse(&text).map_err(|issues| ConfigError::Invalid {
            path: path.to_path_buf(),
            issues,
        })?;
        if let Some(dir) = path.parent() {
            config.outputs.resolve_against(dir);
        }
        Ok(config)
    }

    /// Parses and validates config text; every problem found is returned, each located.
    pub fn parse(text: &str) -> Result<Config, Vec<ConfigIssue>> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| locate::line_of(text, s.start));
            let message = e.message().to_string();
            let key =
                locate::key_at(text, e.span().map(|s| s.start)).unwrap_or_else(|| "(file)".into());
            vec![ConfigIssue { key, line, message }]
        })?;
        let doc = toml_edit::Document::parse(text).ok();
        let mut issues = config.validate();
        if let Some(d) = &doc {
            issues.extend(options_of_other_kinds(&config, d));
        }
        if issues.is_empty() {
            return Ok(config);
        }
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

/// Keys a source has that belong to another kind of source (an `emiss` block on a workbook): errors,
/// never silently ignored. Read from the file, since serde fills the defaults of every kind.
fn options_of_other_kinds(
    config: &Config,
    doc: &toml_edit::Document<&str>,
) -> Vec<(String, String)> {
    let Some(sources) = doc.get("sources").and_then(|s| s.as_array_of_tables()) else {
        return Vec::new();
    };
    let mut issues = Vec::new();
    for (i, (table, source)) in sources.iter().zip(&config.sources).enumerate() {
        for (key, only_for) in [
            ("link_selector", SourceKind::DocumentList),
            ("extensions", SourceKind::DocumentList),
            ("emiss", SourceKind::Emiss),
        ] {
            if table.contains_key(key) && source.kind != only_for {
                issues.push((
                    format!("sources[{i}].{key}"),
                    format!(
                        "only for kind = {:?}; this source is {:?}",
                        only_for.as_str(),
                        source.kind.as_str()
                    ),
                ));
            }
        }
    }
    issues
}

#[cfg(test)]
mod tests;
