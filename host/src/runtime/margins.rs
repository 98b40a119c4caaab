//! Tables of one report that count the same cases: where one table's
//! counts are the sums of another's over some of its dimensions (a
//! *margin*, such as cases by sex beside cases by sex and status), a count
//! suppressed in one can be worked out from the other by differencing. The
//! groups found here tie such cells together, so that complementary
//! suppression (see [`Report::suppress_small_cells`]) never leaves exactly
//! one count of a group hidden.
//!
//! The relation is found from the counts themselves, before any is hidden,
//! cell by cell: a cell of table B is a margin cell of table A when, for
//! some one-to-one matching of B's dimensions to A's (by the labels, not
//! the names, so naming a dimension differently hides nothing), it equals
//! the sum of A's cells that carry its labels. Each such cell forms a group
//! with the cells it sums, whatever the rest of B does (a margin that
//! leaves out a label, or whose other cells do not add up, still links the
//! cells that do). Cells that only happen to agree are linked too, which
//! withholds more, never less.
//!
//! [`Report::suppress_small_cells`]: crate::runtime::report::Report::suppress_small_cells

use std::collections::BTreeMap;

use crate::runtime::report::{Count, ReportTable};

/// A cell of a report: its table and row.
pub(crate) type Cell = (usize, usize);

/// Cells that add up: the first is the sum of the others.
pub(crate) type Group = Vec<Cell>;

/// The most dimensions matched every way: beyond, dimensions are matched
/// by name only (720 matchings of six dimensions is the most tried).
const MAX_MATCHED_DIMENSIONS: usize = 6;

/// Every group tying a margin cell to the cells it sums, over every pair
/// of tables of `tables` and every matching of their dimensions (counts
/// still exact).
pub(crate) fn groups(tables: &[ReportTable]) -> Vec<Group> {
    let mut groups = Vec::new();
    for (a, whole) in tables.iter().enumerate() {
        for (b, margin) in tables.iter().enumerate() {
            if a == b || margin.dimensions.len() > whole.dimensions.len() {
                continue;
            }
            for positions in matchings(margin, whole) {
                groups.extend(margin_cells(whole, margin, &positions).into_iter().map(
                    |(row, parts)| {
                        std::iter::once((b, row))
                            .chain(parts.into_iter().map(|i| (a, i)))
                            .collect::<Group>()
                    },
                ));
            }
        }
    }
    for group in &mut groups {
        group[1..].sort_unstable();
    }
    groups.sort();
    groups.dedup();
    groups
}

/// The ways to match each dimension of `margin` to a distinct dimension of
/// `whole`: every one-to-one matching while both are small, else the one
/// by name (if every name is there).
fn matchings(margin: &ReportTable, whole: &ReportTable) -> Vec<Vec<usize>> {
    let (k, n) = (margin.dimensions.len(), whole.dimensions.len());
    if n > MAX_MATCHED_DIMENSIONS {
        return margin
            .dimensions
            .iter()
            .map(|d| whole.dimensions.iter().position(|w| w == d))
            .collect::<Option<Vec<usize>>>()
            .into_iter()
            .collect();
    }
    let mut out = Vec::new();
    let mut current = Vec::with_capacity(k);
    fn extend(k: usize, n: usize, current: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if current.len() == k {
            out.push(current.clone());
            return;
        }
        for p in 0..n {
            if !current.contains(&p) {
                current.push(p);
                extend(k, n, current, out);
                current.pop();
            }
        }
    }
    extend(k, n, &mut current, &mut out);
    out
}

/// The cells of `margin` that equal the sum of the cells of `whole` with
/// the same labels on the dimensions `positions` matches them to, each
/// with those cells (zero cells left out: they hide nothing).
fn margin_cells(
    whole: &ReportTable,
    margin: &ReportTable,
    positions: &[usize],
) -> Vec<(usize, Vec<usize>)> {
    let mut sums: BTreeMap<Vec<&str>, (u64, Vec<usize>)> = BTreeMap::new();
    for (i, row) in whole.rows.iter().enumerate() {
        let Count::Exact(n) = row.count else {
            continue;
        };
        let Some(key) = positions
            .iter()
            .map(|&p| row.labels.get(p).map(String::as_str))
            .collect::<Option<Vec<&str>>>()
        else {
            continue;
        };
        let entry = sums.entry(key).or_default();
        entry.0 += n;
        entry.1.push(i);
    }
    margin
        .rows
        .iter()
        .enumerate()
        .filter_map(|(j, row)| {
            let Count::Exact(n) = row.count else {
                return None;
            };
            let key: Vec<&str> = row.labels.iter().map(String::as_str).collect();
            match sums.get(&key) {
                Some((sum, parts)) if *sum == n && n > 0 => Some((j, parts.clone())),
                _ => None,
            }
        })
        .collect()
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
    use crate::runtime::report::tests::table_named as table;

    #[test]
    fn margin_cells_are_found_by_their_labels_whatever_the_names_or_the_rest() {
        let detail = table(
            "detail",
            &["sex", "status"],
            &[
                (&["female", "survivor"], 3),
                (&["female", "at_risk"], 9),
                (&["male", "survivor"], 20),
                (&["unknown", "at_risk"], 9),
            ],
        );
        // Named otherwise, and leaving a label out: its cells still link.
        let by_gender = table(
            "by-gender",
            &["gender"],
            &[(&["female"], 12), (&["male"], 20)],
        );
        let found = groups(&[detail.clone(), by_gender]);
        assert_eq!(
            found,
            vec![vec![(1, 0), (0, 0), (0, 1)], vec![(1, 1), (0, 2)]]
        );
        // A cell that does not add up is not linked; one that does is.
        let other = table("other", &["sex"], &[(&["female"], 11), (&["male"], 20)]);
        assert_eq!(groups(&[detail.clone(), other]), vec![vec![(1, 1), (0, 2)]]);
        // The column margin, through the other dimension.
        let by_status = table("by-status", &["status"], &[(&["survivor"], 23)]);
        assert_eq!(
            groups(&[detail, by_status]),
            vec![vec![(1, 0), (0, 0), (0, 2)]]
        );
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
