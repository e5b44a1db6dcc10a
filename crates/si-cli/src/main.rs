//! `si`: the learned-field command line of si-rs: train and sample learned fields, score points by log-likelihood, make figures 5–15,
//! benchmark, train and evaluate the streaming Push-T policy, reduce variance (SCSI). Run through `cargo xtask`, which installs libtorch first and builds this binary.

mod bench;
mod cli;
mod experiment;
mod figures;
mod likelihood;
mod policy;
mod reduce;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "si",
    about = "Learned stochastic-interpolant fields (libtorch)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Figures 5-15 into a folder, with a JSON list of entries.
    Figures {
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        json: Option<PathBuf>,
        #[arg(long)]
        quick: bool,
        /// Only these figures (comma-separated numbers; 5 and 10 share a model).
        #[arg(long, value_delimiter = ',')]
        only: Vec<u32>,
        /// Figures made side by side (default: 2, or 1 on a one-core machine); libtorch's threads are
        /// shared between them.
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Training-step and sampling times beside a plain PyTorch loop and the reference.
    Bench {
        #[arg(long)]
        quick: bool,
        #[arg(long)]
        torch_python: Option<PathBuf>,
        #[arg(long)]
        torch_script: Option<PathBuf>,
    },
    /// Train on a .npy file.
    Train(Box<cli::TrainArgs>),
    /// Sample from a checkpoint into a .npy file.
    Sample(cli::SampleArgs),
    /// Log-likelihoods of the rows of a .npy under a checkpoint (ODE exact or Hutchinson divergence,
    /// adaptive ODE, or the SDE estimate), written as a .npy.
    Likelihood(Box<likelihood::LikelihoodArgs>),
    /// Clean samples from corrupted ones (self-consistent interpolants): y = F(x) in a .npy, x̂ = Φ(y) out.
    ReduceVariance(Box<reduce::ReduceArgs>),
    /// The streaming Push-T policy: train on demonstrations, evaluate on seeds.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
}

fn main() -> Result<()> {
    si_report::init_logging();
    match Cli::parse().command {
        Command::Figures {
            out,
            json,
            quick,
            only,
            workers,
        } => {
            std::fs::create_dir_all(&out)?;
            let entries = figures::all(&out, quick, &only, workers)?;
            let text = serde_json::to_string_pretty(&entries)?;
            match json {
                Some(p) => si_data::write_atomic(&p, text.as_bytes())?,
                None => println!("{text}"),
            }
            Ok(())
        }
        Command::Bench {
            quick,
            torch_python,
            torch_script,
        } => bench::run(quick, torch_python, torch_script),
        Command::Train(a) => cli::train(&a),
        Command::Sample(a) => cli::sample_cmd(&a),
        Command::Likelihood(a) => likelihood::likelihood(&a),
        Command::ReduceVariance(a) => reduce::reduce(&a),
        Command::Policy(policy::PolicyCommand::Train(a)) => policy::train(&a),
        Command::Policy(policy::PolicyCommand::Eval(a)) => policy::eval(&a),
    }
}
