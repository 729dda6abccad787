use std::fmt;

/// Where in a document something was found: file, and where known sheet, cell or row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    pub file: String,
    pub sheet: Option<String>,
    pub cell: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(sheet) = &self.sheet {
            write!(f, ", sheet '{sheet}'")?;
        }
        if let Some(cell) = &self.cell {
            write!(f, ", cell {cell}")?;
        }
        Ok(())
    }
}

/// A problem inside a document that did not stop the rest of it from parsing, e.g. an unknown region
/// label. Problems are kept with the document in the warehouse; nothing is dropped silently.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ParseProblem {
    pub location: Location,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for ParseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, found {:?}",
            self.location, self.expected, self.found
        )
    }
}

/// A document that could not be parsed at all.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("{file}: not a readable workbook: {reason}")]
    Workbook { file: String, reason: String },
    #[error("region dictionary line {line}: {reason}")]
    Dictionary { line: usize, reason: String },
    #[error("region alias {label:?}: {reason}")]
    RegionAlias { label: String, reason: String },
    #[error("subject {subject:?}: {reason}")]
    MunicipalScope { subject: String, reason: String },
}
