//! The one table the benchmark prints.

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    section: String,
    measure: String,
    figure: String,
    verdict: String,
}

impl Row {
    /// A figure without a target.
    pub fn info(section: &str, measure: &str, figure: String) -> Row {
        Row {
            section: section.into(),
            measure: measure.into(),
            figure,
            verdict: String::new(),
        }
    }

    /// A number with its unit.
    pub fn value(section: &str, measure: &str, value: f64, unit: &str) -> Row {
        Row::info(section, measure, format!("{} {unit}", round(value)))
    }

    /// A number that must stay at or below `target`.
    pub fn target(section: &str, measure: &str, value: f64, target: f64, unit: &str) -> Row {
        let verdict = if value <= target {
            format!("met (target ≤ {} {unit})", round(target))
        } else {
            format!(
                "MISSED by {:.1}% (target ≤ {} {unit})",
                (value / target - 1.0) * 100.0,
                round(target)
            )
        };
        Row {
            verdict,
            ..Row::value(section, measure, value, unit)
        }
    }

    /// A number that must stay at or above `target`.
    pub fn at_least(section: &str, measure: &str, value: f64, target: f64, unit: &str) -> Row {
        let verdict = if value >= target {
            format!("met (target ≥ {} {unit})", round(target))
        } else {
            format!(
                "MISSED by {:.1}% (target ≥ {} {unit})",
                (1.0 - value / target) * 100.0,
                round(target)
            )
        };
        Row {
            verdict,
            ..Row::value(section, measure, value, unit)
        }
    }
}

fn round(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// The rows, in order.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// Adds a row.
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// Adds rows.
    pub fn extend(&mut self, rows: Vec<Row>) {
        self.rows.extend(rows);
    }

    /// Prints the table as Markdown (what docs/performance.md holds).
    pub fn print(&self, machine: &str) {
        println!("\nKinga performance, {machine}\n");
        println!("| section | measure | figure | target |");
        println!("|---|---|---|---|");
        for row in &self.rows {
            println!(
                "| {} | {} | {} | {} |",
                row.section, row.measure, row.figure, row.verdict
            );
        }
    }
}
