//! Categorical variables (units, periods, clusters) encoded as dense level indices.

use std::collections::HashMap;

/// A categorical column: each row's level as an index in `0..levels`.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    pub name: String,
    pub codes: Vec<u32>,
    pub levels: usize,
}

impl Factor {
    /// Encodes any hashable labels, levels numbered in order of first appearance.
    pub fn from_labels<T: std::hash::Hash + Eq + Clone>(name: &str, labels: &[T]) -> Self {
        let mut index: HashMap<T, u32> = HashMap::new();
        let codes = labels
            .iter()
            .map(|l| {
                let next = index.len() as u32;
                *index.entry(l.clone()).or_insert(next)
            })
            .collect();
        Self {
            name: name.to_string(),
            codes,
            levels: index.len(),
        }
    }

    /// Renumbers codes below `bound` densely in order of first appearance, without hashing: the
    /// labels of a [`crate::Labels`] column or the rows kept of another factor.
    pub fn from_codes(name: &str, codes: impl IntoIterator<Item = u32>, bound: usize) -> Self {
        let mut level = vec![u32::MAX; bound];
        let mut levels = 0u32;
        let codes = codes
            .into_iter()
            .map(|c| {
                let slot = &mut level[c as usize];
                if *slot == u32::MAX {
                    *slot = levels;
                    levels += 1;
                }
                *slot
            })
            .collect();
        Self {
            name: name.to_string(),
            codes,
            levels: levels as usize,
        }
    }

    /// Keeps the rows where `keep` is true, renumbering levels densely.
    pub fn subset(&self, keep: &[bool]) -> Self {
        let kept = self
            .codes
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| *c);
        Self::from_codes(&self.name, kept, self.levels)
    }

    /// The factor of the rows `rows` of `labels`, levels renumbered densely.
    pub fn of_rows(name: &str, labels: &crate::Labels, rows: &[usize]) -> Self {
        let codes = labels.codes();
        Self::from_codes(name, rows.iter().map(|&i| codes[i]), labels.names().len())
    }

    /// Whether every level of `self` lies within one level of `outer` (e.g. units within clusters).
    pub fn is_nested_in(&self, outer: &Factor) -> bool {
        let mut owner = vec![u32::MAX; self.levels];
        for (inner, outer) in self.codes.iter().zip(&outer.codes) {
            let slot = &mut owner[*inner as usize];
            if *slot == u32::MAX {
                *slot = *outer;
            } else if *slot != *outer {
                return false;
            }
        }
        true
    }

    /// The factor of pairs (self, other), for the intersection in two-way clustering.
    pub fn interact(&self, other: &Factor) -> Self {
        let pairs: Vec<(u32, u32)> = self
            .codes
            .iter()
            .copied()
            .zip(other.codes.iter().copied())
            .collect();
        Self::from_labels(&format!("{}^{}", self.name, other.name), &pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_and_interaction() {
        let unit = Factor::from_labels("unit", &["a", "a", "b", "b", "c", "c"]);
        let state = Factor::from_labels("state", &[1, 1, 1, 1, 2, 2]);
        let time = Factor::from_labels("time", &[1, 2, 1, 2, 1, 2]);
        assert_eq!(unit.levels, 3);
        assert!(unit.is_nested_in(&state));
        assert!(!time.is_nested_in(&state));
        assert_eq!(unit.interact(&time).levels, 6);
        assert_eq!(
            unit.subset(&[false, false, true, true, true, true]).levels,
            2
        );
    }
}
