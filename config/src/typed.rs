//! Values the config file writes as text, parsed once at load (as ripgrep turns low-level into
//! high-level arguments): nothing downstream parses a schedule, URL, time zone or selector again.

use std::fmt;
use std::str::FromStr;

/// A cron schedule. Five fields (minute first) get a leading `0` seconds field; six or seven fields
/// are the `cron` crate's (seconds first). The expression is kept as written, for messages.
#[derive(Debug, Clone)]
pub struct Schedule {
    expression: String,
    parsed: cron::Schedule,
}

impl Schedule {
    /// Parses an expression; the error is one line naming it.
    pub fn parse(expression: &str) -> Result<Self, String> {
        let fields = expression.split_whitespace().count();
        let full = if fields == 5 {
            format!("0 {expression}")
        } else {
            expression.to_string()
        };
        let parsed = cron::Schedule::from_str(&full).map_err(|e| {
            // The cron crate's message spans lines (an underlined excerpt): one line here.
            let reason = e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            format!("not a cron expression ({reason}): {expression:?}")
        })?;
        Ok(Self {
            expression: expression.to_string(),
            parsed,
        })
    }

    /// The first time after `after`, in `after`'s time zone.
    pub fn next_after<Z: chrono::TimeZone>(
        &self,
        after: &chrono::DateTime<Z>,
    ) -> Option<chrono::DateTime<Z>> {
        self.parsed.after(after).next()
    }

    /// The expression as the file wrote it.
    pub fn expression(&self) -> &str {
        &self.expression
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

/// A compiled CSS selector of document links, with its text for messages.
#[derive(Debug, Clone)]
pub struct LinkSelector {
    text: String,
    compiled: scraper::Selector,
}

impl LinkSelector {
    /// Compiles a selector. Brackets must balance, which the lenient parser would let through.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.matches('[').count() != text.matches(']').count() {
            return Err(format!("unbalanced brackets in CSS selector {text:?}"));
        }
        let compiled = scraper::Selector::parse(text)
            .map_err(|e| format!("not a CSS selector ({e}): {text:?}"))?;
        Ok(Self {
            text: text.to_string(),
            compiled,
        })
    }

    pub fn selector(&self) -> &scraper::Selector {
        &self.compiled
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for LinkSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// An http or https URL.
pub fn http_url(text: &str) -> Result<url::Url, String> {
    match url::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(u),
        Ok(u) => Err(format!(
            "expected an http or https URL, found scheme {:?}",
            u.scheme()
        )),
        Err(e) => Err(format!("not a URL ({e}): {text:?}")),
    }
}

/// An IANA time zone.
pub fn time_zone(text: &str) -> Result<crate::Zone, String> {
    crate::Zone::named(text)
}
