//! `si-experiments`: makes the figures of docs/figures.md with their index, and runs the benchmarks (what
//! `cargo xtask reproduce-figures` and `cargo xtask bench` run).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "si-experiments",
    about = "The figures and benchmarks of si-rs."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make figures into a folder, with its index.html and figures.json.
    Figures {
        /// Output folder.
        #[arg(long, default_value = "figures")]
        out: PathBuf,
        /// Reduced sizes for a fast pass (CI).
        #[arg(long)]
        quick: bool,
        /// Only these figures (comma-separated numbers; 5 and 10 share a model); default: all that this
        /// build can make (1-17 with the feature `nn`).
        #[arg(long, value_delimiter = ',')]
        only: Vec<u32>,
        /// Figures made side by side (default: 2, or 1 on a one-core machine); libtorch's threads are
        /// shared between them.
        #[arg(long)]
        workers: Option<usize>,
        /// The command named in the index as the one that made it.
        #[arg(long, default_value = "si-experiments figures")]
        command: String,
    },
    /// Throughput beside the Python references.
    Bench {
        /// Fewer repetitions.
        #[arg(long)]
        quick: bool,
        /// Only these parts (comma-separated: fields, ode, ot, robot, nn); default: all.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// The Python of the torch install (the plain PyTorch loop of the nn part).
        #[arg(long)]
        torch_python: Option<PathBuf>,
        /// The Python that runs torchdiffeq (the ode part).
        #[arg(long)]
        ode_python: Option<PathBuf>,
        /// A folder put on that Python's PYTHONPATH (where torchdiffeq is installed).
        #[arg(long)]
        ode_pythonpath: Option<PathBuf>,
        /// The Python with POT and scipy (the ot part).
        #[arg(long)]
        ot_python: Option<PathBuf>,
    },
}

fn main() -> Result<()> {
    si_report::init_logging();
    match Cli::parse().command {
        Command::Figures {
            out,
            quick,
            only,
            workers,
            command,
        } => si_experiments::figures::write_all(&out, quick, &only, workers, &command),
        Command::Bench {
            quick,
            only,
            torch_python,
            ode_python,
            ode_pythonpath,
            ot_python,
        } => {
            use si_experiments::bench::{run, Anchors, PythonAnchor};
            let anchors = Anchors {
                torch: torch_python.map(|python| PythonAnchor {
                    python,
                    pythonpath: None,
                }),
                ode: ode_python.map(|python| PythonAnchor {
                    python,
                    pythonpath: ode_pythonpath,
                }),
                ot: ot_python.map(|python| PythonAnchor {
                    python,
                    pythonpath: None,
                }),
            };
            run(quick, &only, &anchors)
        }
    }
}
