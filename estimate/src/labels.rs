//! Row labels (units, clusters) stored once per distinct label: each row holds a code into the
//! distinct names. A 500,000-row panel of 50,000 units then holds 50,000 strings, not 500,000, and
//! encoding the units is a pass over integers rather than a hash of every row's string.

use std::collections::HashMap;
use std::ops::Index;

use crate::error::EstimateError;

/// Each row's label as a code into `names`, which are distinct.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Labels {
    codes: Vec<u32>,
    names: Vec<String>,
}

impl Labels {
    /// Labels from codes already assigned (a file reader's dictionary encoding). `column` names the
    /// column in the error when a code has no name or two names are equal.
    pub fn from_codes(
        column: &str,
        codes: Vec<u32>,
        names: Vec<String>,
    ) -> Result<Self, EstimateError> {
        // Checked without early exit (it vectorises); the row is looked up only when one is out.
        let bound = names.len();
        let out_of_range = codes
            .iter()
            .fold(false, |out, &c| out | (c as usize >= bound));
        if let Some(row) = out_of_range
            .then(|| codes.iter().position(|&c| c as usize >= bound))
            .flatten()
        {
            return Err(EstimateError::BadParameter {
                parameter: "labels",
                message: format!(
                    "column `{column}`, row {}: code {} has no label (there are {})",
                    row + 1,
                    codes[row],
                    names.len()
                ),
            });
        }
        let mut seen: rustc_hash::FxHashSet<&str> = Default::default();
        seen.reserve(names.len());
        if let Some(twice) = names.iter().find(|n| !seen.insert(n.as_str())) {
            return Err(EstimateError::BadParameter {
                parameter: "labels",
                message: format!("column `{column}`: label {twice:?} is listed twice"),
            });
        }
        Ok(Self { codes, names })
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Each row's code into [`Labels::names`].
    pub fn codes(&self) -> &[u32] {
        &self.codes
    }

    /// Each row's label.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.codes.iter().map(|&c| self.names[c as usize].as_str())
    }

    /// The distinct labels.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

impl Index<usize> for Labels {
    type Output = str;

    /// The label of row `row`.
    fn index(&self, row: usize) -> &str {
        &self.names[self.codes[row] as usize]
    }
}

impl<S: AsRef<str>> FromIterator<S> for Labels {
    /// Encodes labels row by row, names in order of first appearance.
    fn from_iter<I: IntoIterator<Item = S>>(rows: I) -> Self {
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut names = Vec::new();
        let codes = rows
            .into_iter()
            .map(|label| {
                let label = label.as_ref();
                match index.get(label) {
                    Some(&c) => c,
                    None => {
                        let c = names.len() as u32;
                        names.push(label.to_string());
                        index.insert(label.to_string(), c);
                        c
                    }
                }
            })
            .collect();
        Self { codes, names }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_share_their_names() {
        let l: Labels = ["a", "b", "a", "c"].into_iter().collect();
        assert_eq!(l.names(), ["a", "b", "c"]);
        assert_eq!(l.codes(), [0, 1, 0, 2]);
        assert_eq!(&l[2], "a");
        assert!(Labels::from_codes("u", vec![0, 2], vec!["a".into(), "b".into()]).is_err());
        assert!(Labels::from_codes("u", vec![0, 1], vec!["a".into(), "a".into()]).is_err());
    }
}
