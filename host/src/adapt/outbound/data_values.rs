//! A report as a DHIS2 aggregate import: one `POST /api/dataValueSets`
//! body, its values placed by the profile's `outbound.reports` tables.
//!
//! Each report row becomes one data value: its data element (fixed for the
//! table, or chosen by one dimension's label), its category option combo
//! (the labels of the other dimensions, joined by `|`), its org unit (the
//! county's, for a table with a `county` dimension; the programme's
//! otherwise) and the period (`2026-Q3` → `2026Q3`). Every mapped cell the
//! report has no row for is sent as `0`: DHIS2 keeps a value until it is
//! overwritten, so a corrected report that lowers a cell to zero must say
//! so. A row the tables cannot place, and a count suppressed for
//! publication, is listed in `not_carried`, never sent and never zeroed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use super::tables::{Dhis2Report, Dhis2ReportTable};
use super::{DeliveryRefusal, NotCarried, Request, Target, refuse};
use crate::runtime::report::{Count, Report, ReportTable};

/// The dimension whose labels choose an org unit.
const COUNTY: &str = "county";

/// A report in a platform's terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportDelivery {
    /// The platform written to.
    pub platform: Target,
    /// The report's template.
    pub template: String,
    /// The platform's period (`2026Q3`).
    pub period: String,
    /// The requests, in order.
    pub requests: Vec<Request>,
    /// What the platform cannot hold.
    pub not_carried: Vec<NotCarried>,
}

/// DHIS2's quarterly period for `2026-Q3`.
fn dhis2_period(period: &str) -> Option<String> {
    let (year, quarter) = period.split_once("-Q")?;
    let valid = year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && matches!(quarter, "1" | "2" | "3" | "4");
    valid.then(|| format!("{year}Q{quarter}"))
}

/// Where one cell goes: data element, category option combo, org unit.
type Cell = (String, String, String);

/// `report` for the period `period` (`2026-Q3`) as a data value set.
pub(crate) fn deliver(
    mapping: &Dhis2Report,
    report: &Report,
    period: &str,
) -> Result<ReportDelivery, DeliveryRefusal> {
    let period = dhis2_period(period).ok_or_else(|| {
        refuse(
            "/period",
            "is not a quarter (YYYY-Qn): DHIS2 data sets of this profile are quarterly",
        )
    })?;
    let mut not_carried = Vec::new();
    let mut values = Vec::new();
    for (index, table) in report.tables.iter().enumerate() {
        let at = format!("/tables/{index}");
        let Some(placement) = mapping.tables.get(&table.id) else {
            not_carried.push(NotCarried {
                what: at,
                why: format!(
                    "no data element is mapped for table {} in the profile's outbound reports",
                    table.id
                ),
            });
            continue;
        };
        place_table(
            mapping,
            placement,
            table,
            &at,
            &period,
            &mut values,
            &mut not_carried,
        );
    }
    for id in mapping.tables.keys() {
        if !report.tables.iter().any(|t| &t.id == id) {
            not_carried.push(NotCarried {
                what: format!("/outbound/reports/{}/tables/{id}", report.template),
                why: format!(
                    "the report has no table {id}: its cells are not sent, not even as zeros"
                ),
            });
        }
    }
    let query = [("importStrategy", "CREATE_AND_UPDATE")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Ok(ReportDelivery {
        platform: Target::Dhis2,
        template: report.template.clone(),
        period: period.clone(),
        requests: vec![Request {
            method: "POST",
            path: "/api/dataValueSets".into(),
            query,
            body: json!({
                "dataSet": mapping.data_set,
                "period": period,
                "dataValues": values,
            }),
        }],
        not_carried,
    })
}

/// The data values of one table, zeros included.
fn place_table(
    mapping: &Dhis2Report,
    placement: &Dhis2ReportTable,
    table: &ReportTable,
    at: &str,
    period: &str,
    values: &mut Vec<Value>,
    not_carried: &mut Vec<NotCarried>,
) {
    let by = placement
        .data_element_by
        .as_deref()
        .and_then(|name| table.dimensions.iter().position(|d| d == name));
    let county = table.dimensions.iter().position(|d| d == COUNTY);
    let mut seen: BTreeSet<Cell> = BTreeSet::new();
    for (row_index, row) in table.rows.iter().enumerate() {
        let what = format!("{at}/rows/{row_index}");
        let data_element = match (by, &placement.data_element) {
            (Some(i), _) => placement.data_elements.get(&row.labels[i]),
            (None, Some(fixed)) => Some(fixed),
            (None, None) => None,
        };
        let combo_key: Vec<&str> = row
            .labels
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != by && Some(*i) != county)
            .map(|(_, label)| label.as_str())
            .collect();
        let combo = placement.category_option_combos.get(&combo_key.join("|"));
        let org_unit = match county {
            Some(i) => mapping.org_units.get(&row.labels[i]),
            None => Some(&mapping.org_unit),
        };
        let (Some(data_element), Some(combo), Some(org_unit)) = (data_element, combo, org_unit)
        else {
            let missing = match (data_element, combo) {
                (None, _) => "no data element is mapped for its labels",
                (_, None) => "no category option combo is mapped for its labels",
                _ => "no org unit is mapped for its county",
            };
            not_carried.push(NotCarried {
                what,
                why: format!("{missing} ({})", row.labels.join(", ")),
            });
            continue;
        };
        let cell = (data_element.clone(), combo.clone(), org_unit.clone());
        if !seen.insert(cell.clone()) {
            not_carried.push(NotCarried {
                what,
                why: format!(
                    "another row of the table is placed in the same cell ({}): the profile maps two labels to one org unit",
                    row.labels.join(", ")
                ),
            });
            continue;
        }
        let value = match row.count {
            Count::Exact(n) | Count::Setting(n) => n,
            Count::Suppressed(_) | Count::Withheld => {
                not_carried.push(NotCarried {
                    what,
                    why: "suppressed for publication: send the report unsuppressed to the programme's own DHIS2".into(),
                });
                continue;
            }
        };
        values.push(data_value(&cell, period, value));
    }
    let data_elements: Vec<&String> = match &placement.data_element {
        Some(fixed) => vec![fixed],
        None => placement.data_elements.values().collect(),
    };
    let org_units: Vec<&String> = match county {
        Some(_) => mapping.org_units.values().collect(),
        None => vec![&mapping.org_unit],
    };
    let mut zeros = BTreeMap::new();
    for data_element in &data_elements {
        for combo in placement.category_option_combos.values() {
            for org_unit in &org_units {
                let cell = ((*data_element).clone(), combo.clone(), (*org_unit).clone());
                if !seen.contains(&cell) {
                    zeros.insert(cell, ());
                }
            }
        }
    }
    values.extend(zeros.keys().map(|cell| data_value(cell, period, 0)));
}

fn data_value((data_element, combo, org_unit): &Cell, period: &str, value: u64) -> Value {
    json!({
        "dataElement": data_element,
        "categoryOptionCombo": combo,
        "orgUnit": org_unit,
        "period": period,
        "value": value.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_become_dhis2_periods_and_nothing_else_does() {
        assert_eq!(dhis2_period("2026-Q3").as_deref(), Some("2026Q3"));
        for bad in ["2026Q3", "2026-Q5", "26-Q1", "2026-03", ""] {
            assert_eq!(dhis2_period(bad), None, "{bad}");
        }
    }
}
