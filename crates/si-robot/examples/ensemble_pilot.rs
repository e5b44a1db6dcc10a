//! Pilot: several trained streaming policies' fields averaged (b, η) as one policy, on validation seeds.
//! `cargo run --release -p si-robot --example ensemble_pilot -- CKPT,CKPT,... LAMBDA [FIRST_SEED] [N]`

use std::path::PathBuf;

use si_core::{ConditionalField, CoreError, Field, Points};
use si_model::HostNet;
use si_pusht::evaluate;
use si_robot::{Readout, StreamingConfig, StreamingPolicy, TrainedPolicy, TubeExponential};

struct Avg(Vec<HostNet>);
struct AvgGiven<'a>(Vec<si_model::HostField<'a>>);

fn mean(parts: Vec<Points>) -> Result<Points, CoreError> {
    let k = parts.len() as f64;
    let mut out = parts[0].clone();
    for p in &parts[1..] {
        for (o, v) in out.as_mut_slice().iter_mut().zip(p.as_slice()) {
            *o += v;
        }
    }
    for o in out.as_mut_slice() {
        *o /= k;
    }
    Ok(out)
}

impl Field<Points> for AvgGiven<'_> {
    fn dim(&self) -> usize {
        self.0[0].dim()
    }
    fn velocity(&self, t: f64, x: &Points) -> Result<Points, CoreError> {
        mean(self.0.iter().map(|f| f.velocity(t, x)).collect::<Result<_, _>>()?)
    }
    fn denoiser(&self, t: f64, x: &Points) -> Result<Points, CoreError> {
        mean(self.0.iter().map(|f| f.denoiser(t, x)).collect::<Result<_, _>>()?)
    }
}

impl ConditionalField<Points> for Avg {
    type Given<'a> = AvgGiven<'a>;
    fn dim(&self) -> usize {
        self.0[0].dim()
    }
    fn context_dim(&self) -> usize {
        self.0[0].context_dim()
    }
    fn given<'a>(&'a self, c: &Points) -> Result<AvgGiven<'a>, CoreError> {
        Ok(AvgGiven(self.0.iter().map(|n| n.given(c)).collect::<Result<_, _>>()?))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let ckpts: Vec<PathBuf> = a[1].split(',').map(PathBuf::from).collect();
    let lambda: f64 = a[2].parse()?;
    let first: u64 = a.get(3).map_or(Ok(200000), |s| s.parse())?;
    let n: u64 = a.get(4).map_or(Ok(200), |s| s.parse())?;
    let tube = TrainedPolicy::load(&ckpts[0])?.tube;
    let nets = ckpts
        .iter()
        .map(|p| HostNet::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let avg = Avg(nets);
    let cfg = StreamingConfig {
        readout: Readout::Mean,
        ..StreamingConfig::default()
    };
    let mut p = StreamingPolicy::new(&avg, TubeExponential::new(tube, lambda)?, cfg.check(tube)?)?;
    let r = evaluate(&mut p, first..first + n)?;
    println!(
        "ensemble of {} at lambda {lambda}: {n} seeds from {first}: score {:.3}, success {:.1} %, latency {:?}",
        ckpts.len(),
        r.mean_score,
        100.0 * r.success_rate,
        r.mean_latency
    );
    Ok(())
}
