//! Tables of one report that count the same cases: where one table's
//! counts are the sums of another's over some of its dimensions (a
//! *margin*, such as cases by sex beside cases by sex and status), a count
//! suppressed in one can be worked out from the other by differencing. The
//! groups found here tie such cells together, so that complementary
//! suppression (see [`Report::suppress_small_cells`]) never leaves exactly
//! one count of a group hidden.
//!
//! The relation is found from the counts themselves, before any is hidden:
//! table B is a margin of table A when every dimension of B is one of A's
//! and each of B's counts is the sum of A's counts with the same labels on
//! those dimensions (and A has no count that B lacks). A template cannot
//! hide the relation by naming it differently, and two tables that only
//! happen to agree are linked too, which withholds more, never less.
//!
//! [`Report::suppress_small_cells`]: crate::runtime::report::Report::suppress_small_cells

use std::collections::BTreeMap;

use crate::runtime::report::{Count, ReportTable};

/// A cell of a report: its table and row.
pub(crate) type Cell = (usize, usize);

/// Cells that add up: the first is the sum of the others.
pub(crate) type Group = Vec<Cell>;

/// Every group tying a margin's cell to the cells it sums, over every pair
/// of tables of `tables` (counts still exact).
pub(crate) fn groups(tables: &[ReportTable]) -> Vec<Group> {
    let mut groups = Vec::new();
    for (a, whole) in tables.iter().enumerate() {
        for (b, margin) in tables.iter().enumerate() {
            // Two tables over the same dimensions are linked once.
            let same = margin.dimensions.len() == whole.dimensions.len();
            if a == b || (same && b < a) {
                continue;
            }
            if let Some(linked) = margin_of(whole, margin) {
                groups.extend(linked.into_iter().map(|(row, parts)| {
                    std::iter::once((b, row))
                        .chain(parts.into_iter().map(|i| (a, i)))
                        .collect()
                }));
            }
        }
    }
    groups
}

/// When `margin` is a margin of `whole`: each of its rows with the rows of
/// `whole` it sums.
fn margin_of(whole: &ReportTable, margin: &ReportTable) -> Option<Vec<(usize, Vec<usize>)>> {
    if margin.rows.is_empty() || margin.dimensions.len() > whole.dimensions.len() {
        return None;
    }
    let positions = margin
        .dimensions
        .iter()
        .map(|d| whole.dimensions.iter().position(|w| w == d))
        .collect::<Option<Vec<usize>>>()?;
    let mut sums: BTreeMap<Vec<&str>, (u64, Vec<usize>)> = BTreeMap::new();
    for (i, row) in whole.rows.iter().enumerate() {
        let Count::Exact(n) = row.count else {
            return None;
        };
        let key = positions
            .iter()
            .map(|&p| row.labels.get(p).map(String::as_str))
            .collect::<Option<Vec<&str>>>()?;
        let entry = sums.entry(key).or_default();
        entry.0 += n;
        entry.1.push(i);
    }
    let mut linked = Vec::new();
    let mut matched = 0;
    for (j, row) in margin.rows.iter().enumerate() {
        let Count::Exact(n) = row.count else {
            return None;
        };
        let key: Vec<&str> = row.labels.iter().map(String::as_str).collect();
        match sums.get(&key) {
            Some((sum, parts)) if *sum == n => {
                matched += 1;
                linked.push((j, parts.clone()));
            }
            None if n == 0 => {}
            _ => return None,
        }
    }
    // Every sum of the whole must appear in the margin (zeros may be left
    // out of either).
    let nonzero = sums.values().filter(|(sum, _)| *sum > 0).count();
    let matched_nonzero = linked
        .iter()
        .filter(|(j, _)| matches!(margin.rows[*j].count, Count::Exact(n) if n > 0))
        .count();
    (nonzero == matched_nonzero && matched > 0).then_some(linked)
}

/// Withholds, in each group that hides exactly one count, its smallest
/// other count (a zero only when nothing else is left). Returns whether
/// anything changed.
pub(crate) fn withhold_in_groups(tables: &mut [ReportTable], groups: &[Group]) -> bool {
    let mut changed = false;
    for group in groups {
        let hidden = group
            .iter()
            .filter(|&&(t, r)| tables[t].rows[r].count.hidden())
            .count();
        if hidden != 1 {
            continue;
        }
        let smallest = group
            .iter()
            .filter_map(|&(t, r)| match tables[t].rows[r].count {
                Count::Exact(n) => Some(((n == 0, n), (t, r))),
                _ => None,
            })
            .min()
            .map(|(_, cell)| cell);
        if let Some((t, r)) = smallest {
            tables[t].rows[r].count = Count::Withheld;
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::report::ReportRow;

    fn table(id: &str, dimensions: &[&str], rows: &[(&[&str], u64)]) -> ReportTable {
        ReportTable {
            id: id.into(),
            title: id.into(),
            unit: "cases".into(),
            dimensions: dimensions.iter().map(|d| (*d).to_owned()).collect(),
            rows: rows
                .iter()
                .map(|(labels, n)| ReportRow {
                    labels: labels.iter().map(|l| (*l).to_owned()).collect(),
                    count: Count::Exact(*n),
                })
                .collect(),
        }
    }

    #[test]
    fn a_margin_is_found_from_the_counts_and_a_mere_neighbour_is_not() {
        let detail = table(
            "detail",
            &["sex", "status"],
            &[
                (&["female", "survivor"], 3),
                (&["female", "at_risk"], 9),
                (&["male", "survivor"], 20),
            ],
        );
        let by_sex = table("by-sex", &["sex"], &[(&["female"], 12), (&["male"], 20)]);
        let other = table("other", &["sex"], &[(&["female"], 11), (&["male"], 20)]);
        let found = groups(&[detail.clone(), by_sex]);
        assert_eq!(
            found,
            vec![vec![(1, 0), (0, 0), (0, 1)], vec![(1, 1), (0, 2)]]
        );
        assert!(groups(&[detail, other]).is_empty());
    }

    #[test]
    fn a_group_never_hides_exactly_one_count() {
        let mut tables = vec![
            table("detail", &["sex", "status"], &[(&["male", "survivor"], 20)]),
            table("by-sex", &["sex"], &[(&["male"], 20)]),
        ];
        let linked = groups(&tables);
        tables[0].rows[0].count = Count::Withheld;
        assert!(withhold_in_groups(&mut tables, &linked));
        assert_eq!(tables[1].rows[0].count, Count::Withheld);
        assert!(!withhold_in_groups(&mut tables, &linked));
    }
}
