//! `cargo xtask`: the end-to-end driver of the workspace. It composes the crates and writes outputs;
//! it is not a second library.

mod bench;
mod demos;
mod digits;
mod mutants;
mod nn;
mod test;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "xtask",
    about = "Stochastic interpolants: figures, tests, benchmarks, data."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate every figure of the papers into an output folder with an index.html.
    ReproduceFigures {
        /// Reduced sizes for a fast pass (CI).
        #[arg(long)]
        quick: bool,
        /// Output folder.
        #[arg(long, default_value = "figures")]
        out: PathBuf,
        /// Only these figure numbers (comma-separated, e.g. `--only 1,2,15`); default: all.
        #[arg(long, value_delimiter = ',')]
        only: Vec<u32>,
    },
    /// Run the whole test suite (installs libtorch into a cache folder when it is missing).
    Test,
    /// Print throughput figures beside the Python references.
    Bench {
        /// Fewer repetitions.
        #[arg(long)]
        quick: bool,
        /// Only these parts: fields, ode, ot, robot, nn (comma-separated; all when absent).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Write Push-T demonstrations of the scripted expert (successful episodes only).
    Demos(demos::DemosArgs),
    /// Install libtorch (torch==2.11.0 from the Python package registry) into the cache folder.
    Setup,
    /// Fetch the 8x8 handwritten digits (scikit-learn's bundled copy) into the cache folder, split into
    /// training, validation and test .npy files, and print the folder.
    Digits,
    /// Mutation testing of the formula files (installs cargo-mutants when missing; not part of `test`).
    Mutants {
        /// Only these crates (si-core, si-integrate, si-analytic, si-robot); default: all four.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// List the mutants without running them.
        #[arg(long)]
        list: bool,
    },
    /// Train a learned field on a .npy data file (arguments are passed to `si train`).
    Train {
        /// Arguments of the trainer (see `cargo xtask train -- --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Sample from a trained checkpoint into a .npy file (arguments are passed to `si sample`).
    Sample {
        /// Arguments of the sampler (see `cargo xtask sample -- --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Log-likelihoods of the rows of a .npy under a checkpoint: `likelihood --checkpoint M --data x.npy --out
    /// ll.npy [--method ode|ode-adaptive|hutchinson|sde]` (arguments are passed to `si likelihood`).
    Likelihood {
        /// Arguments (see `cargo xtask likelihood -- --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Clean samples from corrupted ones: `reduce-variance --data y.npy --sigma S --out x.npy [--forward
    /// gaussian|uniform|mask=1,0|blur=0.25,0.5,0.25]` (arguments are passed to `si reduce-variance`).
    ReduceVariance {
        /// Arguments (see `cargo xtask reduce-variance -- --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The streaming Push-T policy: `policy train --demos FILE[,FILE…] --out CKPT`, `policy tune
    /// --checkpoint CKPT`, `policy eval --checkpoint CKPT[,CKPT…] --seeds test`, `policy dagger --checkpoint
    /// CKPT --out DIR` (arguments are passed to `si policy`).
    Policy {
        /// Arguments (see `cargo xtask policy -- --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> Result<()> {
    si_report::init_logging();
    let cli = Cli::parse();
    match cli.command {
        Command::ReproduceFigures { quick, out, only } => nn::figures(&out, quick, &only),
        Command::Test => test::run_all(),
        Command::Bench { quick, only } => bench::run(quick, &only),
        Command::Demos(args) => demos::write(&args),
        Command::Setup => nn::ensure_libtorch().map(|_| ()),
        Command::Digits => digits::ensure().map(|d| println!("{}", d.display())),
        Command::Mutants { only, list } => mutants::run(&only, list),
        Command::Train { args } => nn::passthrough("train", &args),
        Command::Sample { args } => nn::passthrough("sample", &args),
        Command::Likelihood { args } => nn::passthrough("likelihood", &args),
        Command::Policy { args } => nn::passthrough("policy", &args),
        Command::ReduceVariance { args } => nn::passthrough("reduce-variance", &args),
    }
}

/// The workspace root (the parent of the xtask folder).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}
