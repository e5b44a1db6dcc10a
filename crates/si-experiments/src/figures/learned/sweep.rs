//! Figure 10: sample quality of the figure-5 model against ε and against the number of steps.

use std::path::Path;

use anyhow::Result;
use si_integrate::{Euler, EulerMaruyama, Heun, Stepper};
use si_nn::{LearnedField, TensorBatch};

use super::checker::Trained;
use crate::experiment::{inside_fraction, normal_points};
use crate::figures::{three_decimals, Entry, Sizes};
use si_report::{lines, png};

fn quality<S: Stepper<TensorBatch>>(
    field: &LearnedField<'_>,
    s: &S,
    n: usize,
    steps: usize,
    seed: u64,
) -> Result<f64> {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let x0 = TensorBatch::upload(
        &normal_points(n, 2, seed),
        tch::Kind::Float,
        field.net().device(),
    )?;
    let x = si_nn::sampling::sample(field, s, x0, steps, &mut rng)?;
    Ok(inside_fraction(&si_core::Batch::to_points(&x)?))
}

pub fn figure10(out: &Path, sizes: &Sizes, model: &Trained) -> Result<Entry> {
    let field = LearnedField::new(model.trainer.sampling_net(), model.interpolant.clone());
    let n = if sizes.quick { 500 } else { 3000 };
    let epss = [0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0];
    let mut eps_curve = Vec::new();
    for &e in &epss {
        let q = if e > 0.0 {
            quality(&field, &EulerMaruyama::constant(e)?, n, 100, 40)?
        } else {
            quality(&field, &Euler, n, 100, 40)?
        };
        eps_curve.push((e, q));
    }
    let steps: &[usize] = if sizes.quick {
        &[5, 10, 20, 50]
    } else {
        &[5, 10, 20, 50, 100, 200, 400]
    };
    let (mut eu, mut he, mut em) = (Vec::new(), Vec::new(), Vec::new());
    for &k in steps {
        eu.push(((k as f64).log10(), quality(&field, &Euler, n, k, 41)?));
        he.push(((k as f64).log10(), quality(&field, &Heun, n, k, 41)?));
        em.push((
            (k as f64).log10(),
            quality(&field, &EulerMaruyama::constant(0.5)?, n, k, 41)?,
        ));
    }
    let file = png(out, "fig10_sweeps.png", (1400, 500), |root| {
        let p = root.split_evenly((1, 2));
        lines(
            &p[0],
            "inside fraction against eps (100 steps; eps = 0: Euler ODE)",
            ("eps", "inside fraction"),
            &[("Euler-Maruyama".into(), eps_curve.clone())],
            None,
        )?;
        lines(
            &p[1],
            "inside fraction against steps",
            ("log10 steps", "inside fraction"),
            &[
                ("Euler (ODE)".into(), eu.clone()),
                ("Heun (ODE)".into(), he.clone()),
                ("Euler-Maruyama eps 0.5".into(), em.clone()),
            ],
            None,
        )?;
        Ok(())
    })?;
    let mut numbers: Vec<(String, String)> = eps_curve
        .iter()
        .map(|(e, q)| (format!("EM 100 steps, eps = {e}"), three_decimals(*q)))
        .collect();
    for (name, c) in [("Euler", &eu), ("Heun", &he), ("EM eps 0.5", &em)] {
        for &(lk, q) in c.iter() {
            numbers.push((
                format!("{name}, {} steps", 10f64.powf(lk).round()),
                three_decimals(q),
            ));
        }
    }
    Ok(Entry {
        number: 10,
        title: "Sample quality against eps and number of steps (figure-5 model)".into(),
        files: vec![file],
        caption: format!(
            "Fraction of samples inside the checkerboard's squares for the model of figure 5: left, Euler-Maruyama \
             with 100 steps against the diffusion eps; right, Euler, Heun and Euler-Maruyama (eps = 0.5) against the \
             number of steps. {}",
            eps_summary(&eps_curve)
        ),
        settings: format!("{n} samples per point; model of figure 5{}", if sizes.quick { " (quick mode)" } else { "" }),
        numbers,
    })
}

/// What the eps sweep shows, from its numbers: the ODE's fraction (eps = 0) against the best eps.
fn eps_summary(curve: &[(f64, f64)]) -> String {
    let Some(&(_, ode)) = curve.first() else {
        return String::new();
    };
    let Some(&(e, best)) = curve.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else {
        return String::new();
    };
    if e > 0.0 && best > ode {
        format!(
            "With 100 steps the inside fraction rises from {ode:.3} at eps = 0 (Euler on the ODE) to {best:.3} at \
             eps = {e}, the best eps of the sweep."
        )
    } else {
        format!(
            "With 100 steps no eps > 0 beats the ODE's inside fraction {ode:.3} (best {best:.3} at eps = {e})."
        )
    }
}
