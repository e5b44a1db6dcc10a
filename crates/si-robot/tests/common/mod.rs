//! What several test files of this crate build the same way.

use si_pusht::expert::training_seeds;
use si_pusht::{run_episode, Demonstrations, Expert};
use si_robot::{windows, DemoOracle, Tube, TubeConfig};

/// The tube of the streaming tests: σ0 = 0.05, k = 2, T = 16.
pub fn tube() -> Tube {
    TubeConfig {
        sigma0: 0.05,
        k: 2.0,
        horizon: 16,
    }
    .check()
    .unwrap()
}

/// The exact oracle (bandwidth 0.05) over two 60-step expert demonstrations on the first training seeds.
pub fn oracle() -> DemoOracle {
    let mut demos = Demonstrations::default();
    let mut expert = Expert::default();
    for seed in training_seeds(0).take(2) {
        demos
            .push_episode(&run_episode(&mut expert, seed, 60).unwrap())
            .unwrap();
    }
    DemoOracle::new(windows(&demos, 16).unwrap(), tube(), 0.05).unwrap()
}
