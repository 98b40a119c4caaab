//! Report tables: declared once, counted in constant memory.
//!
//! A template declares each table as a [`TableSpec`] (usually a `const`):
//! its id, title, unit and dimensions, each [`Dimension`] with every label
//! it can take. The same spec goes into the template's description and
//! into [`Table::new`], so a table cannot count under a label it did not
//! declare without the host refusing the report. A value from the case
//! that is not a declared label (an unexpected county, say) is mapped with
//! [`Dimension::label_or`] to a declared fallback such as `other`.

use std::collections::BTreeMap;

use crate::{Case, PluginError};

/// One dimension of a table and every label it can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimension {
    /// snake_case name (for example `age_band`).
    pub name: &'static str,
    /// Every label a row may carry for it.
    pub labels: &'static [&'static str],
}

impl Dimension {
    /// `value` when it is one of the labels, else `fallback` (which should
    /// be one of them too).
    pub fn label_or<'a>(&self, value: &'a str, fallback: &'static str) -> &'a str {
        if self.labels.contains(&value) {
            value
        } else {
            fallback
        }
    }
}

/// A table as a template declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    /// Stable kebab-case id within the template.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// What is counted (for example `cases`).
    pub unit: &'static str,
    /// The dimensions, in the order rows give their labels.
    pub dimensions: &'static [Dimension],
}

/// A table of labelled counts, built incrementally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// What it declared.
    pub spec: &'static TableSpec,
    /// Counts by labels (one label per dimension).
    pub counts: BTreeMap<Vec<String>, u64>,
}

impl Table {
    /// An empty table of `spec`.
    pub fn new(spec: &'static TableSpec) -> Table {
        Table {
            spec,
            counts: BTreeMap::new(),
        }
    }

    /// The table's id.
    pub fn id(&self) -> &'static str {
        self.spec.id
    }

    /// Adds one to the row with `labels`.
    ///
    /// # Panics
    /// When the number of labels differs from the number of dimensions, or
    /// a label is not declared for its dimension (bugs in the template,
    /// caught by its tests; map case values with [`Dimension::label_or`]).
    pub fn count(&mut self, labels: &[&str]) {
        assert_eq!(
            labels.len(),
            self.spec.dimensions.len(),
            "one label per dimension"
        );
        for (label, dimension) in labels.iter().zip(self.spec.dimensions) {
            assert!(
                dimension.labels.contains(label),
                "label {label:?} is not declared for dimension {}",
                dimension.name
            );
        }
        let key: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        *self.counts.entry(key).or_insert(0) += 1;
    }
}

/// A finished report: the counts of the template's tables. Its title and
/// narrative are the template's, filled in by the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportOutput {
    /// The tables in display order.
    pub tables: Vec<Table>,
}

/// A report being built from a stream of cases.
pub trait ReportBuilder {
    /// Adds one case.
    ///
    /// # Errors
    /// When the case cannot be counted.
    fn add(&mut self, case: &Case) -> Result<(), PluginError>;

    /// Returns the finished report.
    ///
    /// # Errors
    /// When the report cannot be produced.
    fn finish(self) -> Result<ReportOutput, PluginError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEX: Dimension = Dimension {
        name: "sex",
        labels: &["female", "male", "other", "unknown"],
    };
    const SPEC: TableSpec = TableSpec {
        id: "t",
        title: "T",
        unit: "cases",
        dimensions: &[SEX],
    };

    #[test]
    fn counts_go_under_declared_labels() {
        let mut table = Table::new(&SPEC);
        table.count(&["female"]);
        table.count(&[SEX.label_or("nonbinary-typo", "other")]);
        table.count(&["female"]);
        assert_eq!(table.counts[&vec!["female".to_owned()]], 2);
        assert_eq!(table.counts[&vec!["other".to_owned()]], 1);
        assert_eq!(table.id(), "t");
    }

    #[test]
    #[should_panic(expected = "not declared")]
    fn an_undeclared_label_is_a_bug() {
        Table::new(&SPEC).count(&["C-123"]);
    }
}
