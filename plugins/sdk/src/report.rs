//! Report tables: labelled counts, kept in constant memory.

use std::collections::BTreeMap;

use crate::{Case, PluginError};

/// A table of labelled counts, built incrementally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Stable id within the template.
    pub id: String,
    /// Title.
    pub title: String,
    /// What is counted.
    pub unit: String,
    /// Dimension names.
    pub dimensions: Vec<String>,
    /// Counts by labels (one label per dimension).
    pub counts: BTreeMap<Vec<String>, u64>,
}

impl Table {
    /// An empty table.
    pub fn new(id: &str, title: &str, unit: &str, dimensions: &[&str]) -> Table {
        Table {
            id: id.to_owned(),
            title: title.to_owned(),
            unit: unit.to_owned(),
            dimensions: dimensions.iter().map(|d| (*d).to_owned()).collect(),
            counts: BTreeMap::new(),
        }
    }

    /// Adds one to the row with `labels`.
    ///
    /// # Panics
    /// When the number of labels differs from the number of dimensions (a
    /// bug in the template, caught by its tests).
    pub fn count(&mut self, labels: &[&str]) {
        assert_eq!(
            labels.len(),
            self.dimensions.len(),
            "one label per dimension"
        );
        let key: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        *self.counts.entry(key).or_insert(0) += 1;
    }
}

/// A finished report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportOutput {
    /// The template id.
    pub template: String,
    /// Title, with the period.
    pub title: String,
    /// The tables in display order.
    pub tables: Vec<Table>,
    /// Optional narrative text.
    pub narrative: Option<String>,
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
