//! `si`: the learned-field command line of si-rs: train and sample learned fields, score points by
//! log-likelihood, train and evaluate the streaming Push-T policy, reduce variance (SCSI). Run through `cargo xtask`, which installs libtorch first and builds this binary.

mod dagger;
mod images;
mod likelihood;
mod policy;
mod reduce;
mod sample;
mod train;

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
    /// Train on a .npy file.
    Train(Box<train::TrainArgs>),
    /// Sample from a checkpoint into a .npy file.
    Sample(sample::SampleArgs),
    /// Log-likelihoods of the rows of a .npy under a checkpoint (ODE exact or Hutchinson divergence,
    /// adaptive ODE, or the SDE estimate), written as a .npy.
    Likelihood(Box<likelihood::LikelihoodArgs>),
    /// Clean samples from corrupted ones (self-consistent interpolants): y = F(x) in a .npy, x̂ = Φ(y) out.
    ReduceVariance(Box<reduce::ReduceArgs>),
    /// The streaming Push-T policy: train on demonstrations, tune λ on validation seeds, evaluate on seeds.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
}

fn main() -> Result<()> {
    si_report::init_logging();
    match Cli::parse().command {
        Command::Train(a) => train::run(&a),
        Command::Sample(a) => sample::run(&a),
        Command::Likelihood(a) => likelihood::likelihood(&a),
        Command::ReduceVariance(a) => reduce::reduce(&a),
        Command::Policy(policy::PolicyCommand::Train(a)) => policy::train(&a),
        Command::Policy(policy::PolicyCommand::Eval(a)) => policy::eval(&a),
        Command::Policy(policy::PolicyCommand::Tune(a)) => policy::tune(&a),
        Command::Policy(policy::PolicyCommand::Dagger(a)) => dagger::dagger(&a),
        Command::Policy(policy::PolicyCommand::Ensemble(a)) => policy::ensemble(&a),
    }
}

/// The device models are trained and evaluated on: the first GPU where there is one, else the CPU.
pub(crate) fn device() -> tch::Device {
    tch::Device::cuda_if_available()
}
