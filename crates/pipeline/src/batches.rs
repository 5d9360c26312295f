//! The order in which returns are checked, and how they are cut into batches so that only one
//! batch's text cells are in memory at a time.
//!
//! A class whose rows are checked against another class's figures (`max_per_resident`,
//! `villages_within_township`) is checked after every file of that class has been decided, so
//! the figures are complete when they are used. Within a class, files keep their pipeline order
//! (the first of two duplicates is the one kept), and the classes come in the order of their first
//! return, except that a referenced class moves before the classes that refer to it.

use std::collections::{BTreeMap, BTreeSet};

use riskcensus_core::schema::Check;

use crate::process::Context;

/// Input MiB per batch unless the pipeline sets `batch_mib`: a batch's text and typed cells take
/// several times its CSV bytes.
pub(crate) const BATCH_MIB: u64 = 96;

/// Files (indices into the pipeline's returns) in the order they are checked, in batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The batches, in order; every return is in exactly one.
    pub batches: Vec<Vec<usize>>,
}

/// The classes `class` refers to in checks across classes.
pub(crate) fn referenced_classes(checks: &[Check]) -> impl Iterator<Item = &str> {
    checks.iter().filter_map(|c| match c {
        Check::MaxPerResident {
            population_class, ..
        } => Some(population_class.as_str()),
        Check::VillagesWithinTownship { village_class, .. } => Some(village_class.as_str()),
        _ => None,
    })
}

/// The size of each of the pipeline's returns on disk, in their order (a file that cannot be read
/// counts as empty here; ingest reports it).
pub(crate) fn file_sizes(ctx: &Context<'_>) -> Vec<u64> {
    ctx.pipeline
        .returns
        .iter()
        .map(|r| std::fs::metadata(&r.path).map_or(0, |m| m.len()))
        .collect()
}

/// Plan the run of `ctx`'s returns, whose [`file_sizes`] are `sizes`.
pub(crate) fn plan(ctx: &Context<'_>, sizes: &[u64]) -> Plan {
    let classes: Vec<&str> = ctx
        .pipeline
        .returns
        .iter()
        .map(|r| r.class.as_str())
        .collect();
    let references = |class: &str| -> Vec<String> {
        ctx.schemas
            .class(class)
            .map(|c| referenced_classes(&c.checks).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let budget = ctx
        .pipeline
        .batch_mib
        .unwrap_or(BATCH_MIB)
        .saturating_mul(1 << 20);
    plan_batches(&classes, sizes, references, budget)
}

/// [`plan`] on plain data: each return's class and size, what each class refers to, and the
/// batch budget in bytes.
///
/// When the references form a cycle (or a class refers to itself), no order can complete a class
/// before its use, and every return goes into a single batch: the figures then come from the
/// rows in memory, as the checks find them.
pub(crate) fn plan_batches(
    classes: &[&str],
    sizes: &[u64],
    references: impl Fn(&str) -> Vec<String>,
    budget: u64,
) -> Plan {
    let all = || Plan {
        batches: if classes.is_empty() {
            Vec::new()
        } else {
            vec![(0..classes.len()).collect()]
        },
    };
    // Classes in the order of their first return, each with its files in pipeline order.
    let mut first_seen: Vec<&str> = Vec::new();
    let mut files_of: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, class) in classes.iter().enumerate() {
        let files = files_of.entry(class).or_default();
        if files.is_empty() {
            first_seen.push(class);
        }
        files.push(i);
    }
    // Only references to classes with returns order anything.
    let depends: BTreeMap<&str, BTreeSet<&str>> = first_seen
        .iter()
        .map(|&c| {
            let refs = references(c);
            let on: BTreeSet<&str> = first_seen
                .iter()
                .copied()
                .filter(|other| refs.iter().any(|r| r == other))
                .collect();
            (c, on)
        })
        .collect();
    // A stable topological order: repeatedly the earliest class whose references are all placed.
    let mut order: Vec<&str> = Vec::new();
    while order.len() < first_seen.len() {
        let next = first_seen.iter().copied().find(|c| {
            !order.contains(c)
                && depends
                    .get(c)
                    .is_none_or(|on| on.iter().all(|d| order.contains(d)))
        });
        match next {
            Some(c) => order.push(c),
            None => return all(),
        }
    }
    // Cut into batches: at the budget, and before a class whose referenced class is in the batch.
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut current_bytes = 0u64;
    let mut current_classes: BTreeSet<&str> = BTreeSet::new();
    for class in order {
        let needs_cut = depends
            .get(class)
            .is_some_and(|on| on.iter().any(|d| current_classes.contains(d)));
        if needs_cut && !current.is_empty() {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
            current_classes.clear();
        }
        for &i in files_of.get(class).map(Vec::as_slice).unwrap_or_default() {
            let size = sizes.get(i).copied().unwrap_or(0);
            if !current.is_empty() && current_bytes + size > budget {
                batches.push(std::mem::take(&mut current));
                current_bytes = 0;
                current_classes.clear();
            }
            current.push(i);
            current_bytes += size;
            current_classes.insert(class);
        }
    }
    if !current.is_empty() {
        batches.push(current);
    }
    Plan { batches }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Vec<String> {
        move |c| {
            pairs
                .iter()
                .filter(|(from, _)| *from == c)
                .map(|(_, to)| to.to_string())
                .collect()
        }
    }

    #[test]
    fn referenced_classes_come_first_and_files_keep_their_order() {
        // GOV-10 and GRS-01 refer to GRS-02, which comes last in the pipeline.
        let classes = ["GOV-10", "A", "GRS-01", "GRS-02", "A", "GRS-02"];
        let plan = plan_batches(
            &classes,
            &[1; 6],
            refs(&[("GOV-10", "GRS-02"), ("GRS-01", "GRS-02")]),
            100,
        );
        // A (ready at once), then GRS-02 before the two classes that use it, and a cut between.
        assert_eq!(plan.batches, vec![vec![1, 4, 3, 5], vec![0, 2]]);
    }

    #[test]
    fn batches_are_cut_at_the_budget_and_every_file_is_planned_once() {
        let classes = ["A", "A", "B", "B", "C"];
        let plan = plan_batches(&classes, &[60, 60, 10, 30, 200], refs(&[]), 100);
        assert_eq!(plan.batches, vec![vec![0], vec![1, 2, 3], vec![4]]);
        let mut all: Vec<usize> = plan.batches.concat();
        all.sort_unstable();
        assert_eq!(all, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_cycle_or_a_self_reference_puts_everything_in_one_batch() {
        let classes = ["A", "B", "C"];
        let cycle = plan_batches(&classes, &[500; 3], refs(&[("A", "B"), ("B", "A")]), 100);
        assert_eq!(cycle.batches, vec![vec![0, 1, 2]]);
        let own = plan_batches(&classes, &[500; 3], refs(&[("C", "C")]), 100);
        assert_eq!(own.batches, vec![vec![0, 1, 2]]);
        // A reference to a class without returns orders nothing.
        let absent = plan_batches(&classes, &[1; 3], refs(&[("A", "Z")]), 100);
        assert_eq!(absent.batches, vec![vec![0, 1, 2]]);
        assert!(plan_batches(&[], &[], refs(&[]), 100).batches.is_empty());
    }
}
