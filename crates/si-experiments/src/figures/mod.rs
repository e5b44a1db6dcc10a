//! Every figure of docs/figures.md: A (exact fields, 1–4; [`exact`]), B (learned fields, 5–10; `learned`),
//! C (couplings and reflow, 11–12; [`coupling`]), D (variance reduction, 13; `scsi`), E (the streaming
//! policy, 14–15; [`pusht`]), F (interpolant design: the presets, 16, in `learned`; the Schrödinger bridge, 17,
//! in [`coupling`]), G (images: the digits, 18, in `images`). [`registry`] lists them, with what each needs; [`all`] makes them side by side.

pub mod coupling;
pub mod exact;
#[cfg(feature = "nn")]
pub mod images;
#[cfg(feature = "nn")]
pub mod learned;
pub mod pusht;
pub mod registry;
#[cfg(feature = "nn")]
pub mod scsi;

use std::path::Path;
use std::sync::Mutex;

use anyhow::Result;
/// One figure for the index.
pub use si_report::FigureEntry as Entry;

/// The environment variable naming the folder of the digits split that figure 18 reads (`cargo xtask
/// digits` prints it; `cargo xtask reproduce-figures` fetches the data and sets it).
pub const DIGITS_ENV: &str = "SI_RS_DIGITS";

/// Sizes of a run: `--quick` for CI, full for readers.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    pub quick: bool,
    pub width: usize,
    pub depth: usize,
    pub batch: usize,
    pub samples: usize,
    pub nll_points: usize,
    pub nll_steps: usize,
}

impl Sizes {
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                quick,
                width: 64,
                depth: 3,
                batch: 256,
                samples: 1500,
                nll_points: 300,
                nll_steps: 20,
            }
        } else {
            Self {
                quick,
                width: 256,
                depth: 4,
                batch: 1000,
                samples: 5000,
                nll_points: 5000,
                nll_steps: 100,
            }
        }
    }
    /// `full` steps, or a small number in quick mode.
    pub fn steps(&self, full: usize) -> usize {
        if self.quick {
            1000
        } else {
            full
        }
    }
}

/// One unit of work: the figures it makes, in index order.
pub type Job<'a> = Box<dyn FnOnce() -> Result<Vec<Entry>> + Send + 'a>;

/// Makes the figures in `only` (every figure this build can make when empty) into `out`, on `workers`
/// threads (at least 1; default 2, or 1 on a one-core machine), and returns their entries in index order.
///
/// The figures are independent (each draws from its own seeds, no process-wide generator), so they run
/// side by side, longest first; the entries come back in index order whatever the schedule. With more
/// than one worker, libtorch's intra-op threads are divided between them: a small MLP's training step
/// gains little from a second thread, two figures at once gain nearly twice.
pub fn all(out: &Path, quick: bool, only: &[u32], workers: Option<usize>) -> Result<Vec<Entry>> {
    let sizes = Sizes::new(quick);
    let jobs = registry::jobs(out, &sizes, only)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = workers.unwrap_or(cores.min(2)).clamp(1, jobs.len().max(1));
    #[cfg(feature = "nn")]
    if workers > 1 {
        tch::set_num_threads(i32::try_from((cores / workers).max(1)).unwrap_or(1));
    }
    run_longest_first(jobs, workers)
}

/// Runs `jobs` (estimate, job) on `workers` threads, the largest estimates first, and returns their
/// entries in the order the jobs were listed; the first error (in that order) is returned.
pub fn run_longest_first(jobs: Vec<(u32, Job)>, workers: usize) -> Result<Vec<Entry>> {
    let n = jobs.len();
    // ascending by estimate, ties latest-listed first, so that `pop` takes the largest, earliest-listed
    let mut queue: Vec<(usize, u32, Job)> = jobs
        .into_iter()
        .enumerate()
        .map(|(i, (est, job))| (i, est, job))
        .collect();
    queue.sort_by_key(|&(i, est, _)| (est, std::cmp::Reverse(i)));
    let queue = Mutex::new(queue);
    let results: Mutex<Vec<Option<Result<Vec<Entry>>>>> =
        Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some((i, _, job)) = queue.lock().ok().and_then(|mut q| q.pop()) {
                    let r = job();
                    if let Ok(mut res) = results.lock() {
                        res[i] = Some(r);
                    }
                }
            });
        }
    });
    let results = results
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a figure worker panicked"))?;
    let mut entries = Vec::new();
    for r in results {
        entries.extend(r.ok_or_else(|| anyhow::anyhow!("a figure was not made"))??);
    }
    Ok(entries)
}

/// Makes the figures in `only` (as [`all`]) into `out` and writes its `index.html` and `figures.json`,
/// naming `command` as what made them.
pub fn write_all(
    out: &Path,
    quick: bool,
    only: &[u32],
    workers: Option<usize>,
    command: &str,
) -> Result<()> {
    std::fs::create_dir_all(out)?;
    let entries = all(out, quick, only, workers)?;
    si_report::write_index(out, &entries, command)?;
    eprintln!("==> wrote {}", out.join("index.html").display());
    Ok(())
}

/// A number with three decimals, as the tables print it.
pub fn three_decimals(v: f64) -> String {
    format!("{v:.3}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(number: u32) -> Entry {
        Entry {
            number,
            title: String::new(),
            files: Vec::new(),
            caption: String::new(),
            settings: String::new(),
            numbers: Vec::new(),
        }
    }

    /// Jobs numbered 0.. with the given estimates; each records when it ran.
    fn jobs<'a>(estimates: &[u32], ran: &'a Mutex<Vec<u32>>) -> Vec<(u32, Job<'a>)> {
        estimates
            .iter()
            .enumerate()
            .map(|(i, &est)| {
                let n = i as u32;
                let job: Job<'a> = Box::new(move || {
                    ran.lock().unwrap().push(n);
                    Ok(vec![entry(n)])
                });
                (est, job)
            })
            .collect()
    }

    #[test]
    fn one_worker_runs_the_longest_first_and_returns_the_listed_order() {
        let ran = Mutex::new(Vec::new());
        let got = run_longest_first(jobs(&[1, 5, 0, 5, 3], &ran), 1).unwrap();
        assert_eq!(
            got.iter().map(|e| e.number).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        // largest estimate first, ties in listed order
        assert_eq!(*ran.lock().unwrap(), [1, 3, 4, 0, 2]);
    }

    #[test]
    fn two_workers_make_every_figure_once_in_the_listed_order() {
        let ran = Mutex::new(Vec::new());
        let got = run_longest_first(jobs(&[2, 0, 7, 1, 1, 4], &ran), 2).unwrap();
        assert_eq!(
            got.iter().map(|e| e.number).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4, 5]
        );
        let mut r = ran.lock().unwrap().clone();
        r.sort_unstable();
        assert_eq!(r, [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn the_first_listed_error_is_returned_after_every_job_ran() {
        let ran = Mutex::new(Vec::new());
        let mut js = jobs(&[1, 1, 1], &ran);
        js.insert(1, (0, Box::new(|| anyhow::bail!("second fails"))));
        js.push((9, Box::new(|| anyhow::bail!("last fails"))));
        let err = run_longest_first(js, 2).unwrap_err();
        assert_eq!(err.to_string(), "second fails");
        assert_eq!(ran.lock().unwrap().len(), 3);
    }
}
