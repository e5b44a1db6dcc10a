//! The one list of figures: each number of docs/figures.md with the function that makes it, its estimated
//! length (minutes on a 2-core CPU at full size, for the schedule) and whether it needs libtorch (the
//! feature `nn`).

use std::path::Path;

use anyhow::{bail, Result};

use super::{exact, pusht, Entry, Job, Sizes};

/// Makes one or more figures into a folder.
pub type Make = fn(&Path, &Sizes) -> Result<Vec<Entry>>;

/// What a figure needs to be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Exact fields, the simulator and the host evaluator only.
    Host,
    /// A learned field (si-nn, libtorch): the feature `nn`.
    Libtorch,
}

/// One row of the registry.
#[derive(Clone, Copy, Debug)]
pub struct Figure {
    /// Numbers of the figures it makes (5 and 10 share a model; 15 has a host part and a learned one).
    pub numbers: &'static [u32],
    /// Estimated minutes at full size on a 2-core CPU (the schedule runs the longest first).
    pub minutes: u32,
    /// What it needs.
    pub needs: Needs,
    /// How it is made; `None` where this build lacks what it needs.
    pub make: Option<Make>,
}

/// `Some(f)` in a build with the feature `nn`, `None` (and `f` not compiled) without.
#[cfg(feature = "nn")]
macro_rules! nn {
    ($f:expr) => {
        Some($f as Make)
    };
}
#[cfg(not(feature = "nn"))]
macro_rules! nn {
    ($f:expr) => {
        None
    };
}

fn host(numbers: &'static [u32], minutes: u32, make: Make) -> Figure {
    Figure {
        numbers,
        minutes,
        needs: Needs::Host,
        make: Some(make),
    }
}

fn learned(numbers: &'static [u32], minutes: u32, make: Option<Make>) -> Figure {
    Figure {
        numbers,
        minutes,
        needs: Needs::Libtorch,
        make,
    }
}

/// Every figure, in index order.
pub fn figures() -> Vec<Figure> {
    vec![
        host(&[1], 0, |o, s| {
            Ok(vec![exact::densities::figure(o, s.quick)?])
        }),
        host(&[2], 0, |o, s| {
            Ok(vec![exact::trajectories::figure(o, s.quick)?])
        }),
        host(&[3], 0, |o, s| {
            Ok(vec![exact::histograms::figure(o, s.quick)?])
        }),
        host(&[4], 0, |o, s| {
            Ok(vec![exact::scatter::figure(o, s.quick)?])
        }),
        learned(&[5, 10], 5, nn!(super::learned::figures_5_and_10)),
        learned(
            &[6],
            2,
            nn!(|o, s| Ok(vec![super::learned::checker::figure6(o, s)?])),
        ),
        learned(
            &[7],
            2,
            nn!(|o, s| Ok(vec![super::learned::checker::figure7(o, s)?])),
        ),
        learned(
            &[8],
            1,
            nn!(|o, s| Ok(vec![super::learned::checker::figure8(o, s)?])),
        ),
        learned(
            &[9],
            4,
            nn!(|o, s| Ok(vec![super::learned::figure9(o, s)?])),
        ),
        learned(
            &[11],
            1,
            nn!(|o, s| Ok(vec![super::coupling::reflow::figure11(o, s)?])),
        ),
        learned(
            &[12],
            5,
            nn!(|o, s| Ok(vec![super::coupling::reflow::figure12(o, s)?])),
        ),
        learned(&[13], 4, nn!(|o, s| Ok(vec![super::scsi::figure13(o, s)?]))),
        learned(
            &[14],
            0,
            nn!(|o, s| Ok(vec![super::pusht::wine::figure14(o, s)?])),
        ),
        host(&[15], 0, |o, s| {
            Ok(vec![pusht::expert::figure(o, s.quick)?])
        }),
        learned(
            &[15],
            6,
            nn!(|o, s| Ok(vec![super::pusht::policies::figure15(o, s)?])),
        ),
        learned(
            &[16],
            25,
            nn!(|o, s| Ok(vec![super::learned::presets::figure16(o, s)?])),
        ),
        learned(
            &[17],
            50,
            nn!(|o, s| Ok(vec![super::coupling::bridge::figure17(o, s)?])),
        ),
        learned(
            &[18],
            20,
            nn!(|o, s| Ok(vec![super::images::digits::figure18(o, s)?])),
        ),
    ]
}

/// Whether the figures in `only` (every figure when empty) include one that needs libtorch.
pub fn needs_libtorch(only: &[u32]) -> bool {
    figures().iter().any(|f| {
        f.needs == Needs::Libtorch
            && (only.is_empty() || f.numbers.iter().any(|n| only.contains(n)))
    })
}

/// The jobs for the figures in `only` (every figure this build can make when empty), each paired with its
/// estimate; a number with no figure, or whose figure this build cannot make, is an error.
pub fn jobs<'a>(out: &'a Path, sizes: &'a Sizes, only: &[u32]) -> Result<Vec<(u32, Job<'a>)>> {
    let all = figures();
    for n in only {
        let rows: Vec<&Figure> = all.iter().filter(|f| f.numbers.contains(n)).collect();
        if rows.is_empty() {
            bail!("there is no figure {n} (figures 1-18)");
        }
        if rows.iter().all(|f| f.make.is_none()) {
            bail!("figure {n} needs a learned field: build si-experiments with the feature `nn`");
        }
    }
    let t0 = std::time::Instant::now();
    let mut jobs: Vec<(u32, Job<'a>)> = Vec::new();
    for f in all {
        let wanted = only.is_empty() || f.numbers.iter().any(|n| only.contains(n));
        let Some(make) = f.make.filter(|_| wanted) else {
            continue;
        };
        jobs.push((
            f.minutes,
            Box::new(move || {
                let entries = make(out, sizes)?;
                for n in f.numbers {
                    tracing::info!(elapsed_s = t0.elapsed().as_secs(), "figure {n} done");
                }
                Ok(entries)
            }),
        ));
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_figure_from_1_to_18_is_listed_once_per_part() {
        let all = figures();
        for n in 1..=18 {
            let parts = all.iter().filter(|f| f.numbers.contains(&n)).count();
            assert_eq!(parts, if n == 15 { 2 } else { 1 }, "figure {n}");
        }
        assert!(all
            .iter()
            .all(|f| f.make.is_some() || !cfg!(feature = "nn")));
        assert!(all
            .iter()
            .filter(|f| f.needs == Needs::Host)
            .all(|f| f.make.is_some()));
    }

    #[test]
    fn only_the_learned_figures_need_libtorch() {
        assert!(needs_libtorch(&[]));
        assert!(!needs_libtorch(&[1, 2, 3, 4]));
        assert!(needs_libtorch(&[1, 5]));
        // figure 15 has a learned part besides the expert's
        assert!(needs_libtorch(&[15]));
    }

    #[test]
    fn an_unknown_number_is_an_error() {
        let sizes = Sizes::new(true);
        let err = jobs(Path::new("."), &sizes, &[19])
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("there is no figure 19 (figures 1-18)"));
    }

    #[cfg(not(feature = "nn"))]
    #[test]
    fn a_learned_figure_without_libtorch_is_an_error_and_the_rest_are_made() {
        let sizes = Sizes::new(true);
        assert!(jobs(Path::new("."), &sizes, &[5]).is_err());
        assert_eq!(
            jobs(Path::new("."), &sizes, &[15]).map(|j| j.len()).ok(),
            Some(1)
        );
        assert_eq!(
            jobs(Path::new("."), &sizes, &[]).map(|j| j.len()).ok(),
            Some(5)
        );
    }
}
