//! Choices made in code on the validation seeds: the sweep of λ and the readout of a trained policy, and
//! what it stores.
//!
//! [`TrainedPolicy::tune`] runs the trained policy with each λ of a list and each readout
//! ([`Readout`]: the state or the step's mean) on validation seeds (si-pusht's [`SeedSet::Validation`];
//! test and final seeds are refused), picks the pair of the best mean score ([`choose`]: ties go to the
//! smaller λ, then to the state) and returns the [`Tuning`], which the sidecar keeps
//! ([`PolicyMeta::tuning`](crate::PolicyMeta::tuning)) and evaluation uses when no λ or readout is asked
//! for. At λ = 0 (the ODE) both readouts send the same actions, so the mean is not run there.

use crate::choices::named_choices;
use serde::{Deserialize, Serialize};
use si_pusht::{run_seeds, Episode, Outcomes, SeedSet, Seeds};

use crate::error::RobotError;
use crate::recipe::{PolicyKind, PolicySettings, TrainedPolicy};
use crate::streaming::Readout;

/// One (λ, readout) of a sweep and how the policy did with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// λ.
    pub lambda: f64,
    /// What was sent (sidecars written before readouts existed sent the state).
    #[serde(default)]
    pub readout: Readout,
    /// Mean score over the sweep's seeds.
    pub mean_score: f64,
    /// Successful episodes.
    pub successes: usize,
    /// Episodes run.
    pub episodes: usize,
}

/// What a sweep maximises ([`choose_by`]). `si policy tune` uses [`Criterion::Success`] unless told
/// otherwise: on validation seeds it chose the better λ in six of six policies where the two disagreed
/// (docs/results.md, "Choosing λ by the success rate"). A sidecar without the field was tuned by the score
/// ([`Tuning::criterion`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Criterion {
    /// The mean score (the coverage reward, Diffusion Policy's metric).
    Score,
    /// The success rate, ties broken by the mean score: once every score is near its ceiling, the score no
    /// longer separates the settings that finish the task.
    Success,
}

named_choices!(Criterion, "criterion", "must be score or success", {
    Score => "score",
    Success => "success",
});

fn is_score(c: &Criterion) -> bool {
    *c == Criterion::Score
}

/// What a sidecar without the `criterion` field was tuned by: every sidecar written before the choice
/// existed maximised the score.
fn written_before_the_choice() -> Criterion {
    Criterion::Score
}

/// A λ and a readout chosen by a sweep, the seed set they were chosen on and the sweep's table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tuning {
    /// The chosen λ.
    pub lambda: f64,
    /// The chosen readout (sidecars written before readouts existed: the state).
    #[serde(default)]
    pub readout: Readout,
    /// The seed set it was chosen on (si-pusht's [`SeedSet`] name: `validation`).
    pub chosen_on: String,
    /// The seeds as they were given (a set's name, `A..B` or `a,b,c`).
    pub seeds: String,
    /// The step λ was chosen with ([`StepperChoice`](crate::StepperChoice) name: `exponential` or `euler`).
    pub stepper: String,
    /// T_chunk λ was chosen with.
    pub reanchor_every: usize,
    /// What the sweep maximised (absent in sidecars written before the choice existed: the score).
    #[serde(
        default = "written_before_the_choice",
        skip_serializing_if = "is_score"
    )]
    pub criterion: Criterion,
    /// The sweep, one row per λ in the order tried.
    pub sweep: Vec<SweepRow>,
}

impl Tuning {
    /// The seed set λ was chosen on, if its name is one of si-pusht's.
    pub fn chosen_on_set(&self) -> Option<SeedSet> {
        self.chosen_on.parse().ok()
    }

    /// Whether `settings` run the step and T_chunk λ was chosen with.
    pub fn fits(&self, settings: &PolicySettings) -> bool {
        self.stepper == settings.stepper.name()
            && self.reanchor_every == settings.streaming.reanchor_every
    }
}

/// The row of the best mean score; among equal scores, the smallest λ, then the state before the mean.
/// `None` for an empty sweep. The same as [`choose_by`] with [`Criterion::Score`].
pub fn choose(rows: &[SweepRow]) -> Option<&SweepRow> {
    choose_by(rows, Criterion::Score)
}

/// The row that is best by `criterion`: the best mean score, or the best success rate (successes over
/// episodes, compared exactly as s_a · n_b against s_b · n_a) and among equal rates the best mean score;
/// then the smallest λ, then the state before the mean. `None` for an empty sweep.
pub fn choose_by(rows: &[SweepRow], criterion: Criterion) -> Option<&SweepRow> {
    let rate = |a: &SweepRow, b: &SweepRow| {
        (b.successes * a.episodes.max(1)).cmp(&(a.successes * b.episodes.max(1)))
    };
    rows.iter().min_by(|a, b| {
        let first = match criterion {
            Criterion::Score => std::cmp::Ordering::Equal,
            Criterion::Success => rate(a, b),
        };
        first
            .then(b.mean_score.total_cmp(&a.mean_score))
            .then(a.lambda.total_cmp(&b.lambda))
            .then(a.readout.cmp(&b.readout))
    })
}

/// The (λ, readout) pairs a sweep runs, λ by λ in the order given: every readout of `readouts` for λ > 0;
/// for λ = 0 only the first (both readouts send the same actions there).
pub fn sweep_grid(lambdas: &[f64], readouts: &[Readout]) -> Vec<(f64, Readout)> {
    let mut out = Vec::new();
    for &lambda in lambdas {
        let take = if lambda == 0.0 { 1 } else { readouts.len() };
        out.extend(readouts.iter().take(take).map(|&r| (lambda, r)));
    }
    out
}

/// `settings` with λ and the readout asked for explicitly (what each row of a sweep runs).
fn with_choice(settings: &PolicySettings, lambda: f64, readout: Readout) -> PolicySettings {
    PolicySettings {
        lambda: Some(lambda),
        readout: Some(readout),
        ..*settings
    }
}

/// Choices may only be made on validation seeds: every seed of `seeds` must be a validation seed, else
/// [`RobotError::NotValidationSeeds`].
pub fn check_choice_seeds(seeds: &Seeds) -> Result<SeedSet, RobotError> {
    let m = seeds.membership();
    match m.single() {
        Some(set) if set.may_choose_on() => Ok(set),
        _ => Err(RobotError::NotValidationSeeds {
            seeds: m.to_string(),
        }),
    }
}

impl TrainedPolicy {
    /// Sweeps `lambdas` (each ≥ 0) × `readouts` ([`sweep_grid`]) with `settings` otherwise on the
    /// validation `seeds` (described by `seeds_text` in the result), for at most `max_steps` steps an
    /// episode, calling `on_episode` after each episode with the (λ, readout) being run; picks the best mean
    /// score, or the best success rate ([`choose_by`] with `criterion`). Seeds outside the validation set are [`RobotError::NotValidationSeeds`]; the
    /// chunked kind (which has no λ) and an empty list are [`RobotError::InvalidParameter`].
    #[allow(clippy::too_many_arguments)]
    pub fn tune(
        &self,
        settings: &PolicySettings,
        lambdas: &[f64],
        readouts: &[Readout],
        seeds: &Seeds,
        seeds_text: &str,
        max_steps: usize,
        criterion: Criterion,
        mut on_episode: impl FnMut(f64, Readout, &Episode),
    ) -> Result<Tuning, RobotError> {
        let set = check_choice_seeds(seeds)?;
        if self.kind == PolicyKind::Chunked {
            return Err(RobotError::InvalidParameter {
                name: "kind",
                value: self.kind.to_string(),
                reason: "the chunked kind has no lambda to tune",
            });
        }
        if lambdas.is_empty() {
            return Err(RobotError::InvalidParameter {
                name: "lambdas",
                value: String::new(),
                reason: "must list at least one lambda",
            });
        }
        if readouts.is_empty() {
            return Err(RobotError::InvalidParameter {
                name: "readouts",
                value: String::new(),
                reason: "must list at least one readout",
            });
        }
        let grid = sweep_grid(lambdas, readouts);
        let mut sweep = Vec::with_capacity(grid.len());
        for (lambda, readout) in grid {
            let s = with_choice(settings, lambda, readout);
            let mut p = self.policy(&s)?.policy;
            let episodes = run_seeds(p.as_mut(), seeds.as_slice(), max_steps, None, |e| {
                on_episode(lambda, readout, e)
            })?;
            let o = Outcomes::of(&episodes);
            sweep.push(SweepRow {
                lambda,
                readout,
                mean_score: o.mean_score.unwrap_or(0.0),
                successes: o.successes,
                episodes: o.episodes,
            });
        }
        let best = choose_by(&sweep, criterion);
        Ok(Tuning {
            lambda: best.map_or(0.0, |r| r.lambda),
            readout: best.map_or(Readout::State, |r| r.readout),
            chosen_on: set.name().to_string(),
            seeds: seeds_text.to_string(),
            stepper: settings.stepper.name().to_string(),
            reanchor_every: settings.streaming.reanchor_every,
            criterion,
            sweep,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::StepperChoice;

    fn row(lambda: f64, mean_score: f64) -> SweepRow {
        SweepRow {
            lambda,
            readout: Readout::State,
            mean_score,
            successes: 0,
            episodes: 10,
        }
    }

    #[test]
    fn the_best_score_wins_and_ties_go_to_the_smaller_lambda() {
        let rows = [
            row(0.0, 0.5),
            row(1.0, 0.75),
            row(2.0, 0.625),
            row(4.0, 0.75),
        ];
        assert_eq!(choose(&rows), Some(&rows[1])); // λ = 1
        let rows = [row(8.0, 0.75), row(4.0, 0.75), row(16.0, 0.25)];
        assert_eq!(choose(&rows), Some(&rows[1])); // λ = 4
        assert_eq!(choose(&[row(2.0, 0.0)]), Some(&row(2.0, 0.0)));
        assert!(choose(&[]).is_none());
    }

    /// Ensemble B's sweep in docs/results.md, in short: the score prefers λ = 16, the success rate 256.
    #[test]
    fn the_success_criterion_takes_the_best_rate_then_the_best_score() {
        let r = |lambda, mean_score, successes, episodes| SweepRow {
            lambda,
            readout: Readout::Mean,
            mean_score,
            successes,
            episodes,
        };
        let rows = [
            r(16.0, 0.995, 159, 200),
            r(32.0, 0.990, 176, 200),
            r(256.0, 0.986, 181, 200),
        ];
        assert_eq!(choose_by(&rows, Criterion::Score), Some(&rows[0]));
        assert_eq!(choose(&rows), Some(&rows[0]));
        assert_eq!(choose_by(&rows, Criterion::Success), Some(&rows[2]));
        // equal rates over different episode counts (9/10 = 18/20): the better score wins
        let rows = [
            r(4.0, 0.90, 9, 10),
            r(8.0, 0.95, 18, 20),
            r(2.0, 0.99, 17, 20),
        ];
        assert_eq!(choose_by(&rows, Criterion::Success), Some(&rows[1]));
        // equal rate and score: the smaller λ
        let rows = [r(8.0, 0.9, 5, 10), r(4.0, 0.9, 5, 10)];
        assert_eq!(choose_by(&rows, Criterion::Success), Some(&rows[1]));
        assert!(choose_by(&[], Criterion::Success).is_none());
        for c in Criterion::ALL {
            assert_eq!(c.name().parse::<Criterion>().unwrap(), c);
            assert_eq!(c.to_string(), c.name());
        }
        assert!("loss".parse::<Criterion>().is_err());
    }

    #[test]
    fn among_equal_scores_and_lambdas_the_state_wins() {
        let mean = |lambda, score| SweepRow {
            readout: Readout::Mean,
            ..row(lambda, score)
        };
        let rows = [mean(4.0, 0.75), row(4.0, 0.75), mean(2.0, 0.5)];
        assert_eq!(choose(&rows), Some(&rows[1]));
        let rows = [row(4.0, 0.5), mean(4.0, 0.75), row(8.0, 0.75)];
        assert_eq!(choose(&rows), Some(&rows[1]));
        let rows = [mean(2.0, 0.75), row(4.0, 0.75)];
        assert_eq!(choose(&rows), Some(&rows[0])); // the smaller λ first
    }

    #[test]
    fn each_row_runs_its_own_lambda_and_readout() {
        let base = PolicySettings {
            lambda: Some(1.0),
            readout: Some(Readout::State),
            stepper: StepperChoice::Euler,
            ..PolicySettings::default()
        };
        let s = with_choice(&base, 8.0, Readout::Mean);
        assert_eq!((s.lambda, s.readout), (Some(8.0), Some(Readout::Mean)));
        assert_eq!(s.stepper, StepperChoice::Euler);
        assert_eq!(s.streaming, base.streaming);
    }

    #[test]
    fn the_grid_runs_the_ode_once() {
        use Readout::{Mean, State};
        assert_eq!(
            sweep_grid(&[0.0, 2.0, 8.0], &[State, Mean]),
            vec![
                (0.0, State),
                (2.0, State),
                (2.0, Mean),
                (8.0, State),
                (8.0, Mean)
            ]
        );
        assert_eq!(
            sweep_grid(&[0.0, 2.0], &[Mean]),
            vec![(0.0, Mean), (2.0, Mean)]
        );
        assert!(sweep_grid(&[1.0], &[]).is_empty());
    }

    #[test]
    fn a_tuning_fits_the_step_and_t_chunk_it_was_chosen_with() {
        let t = Tuning {
            lambda: 2.0,
            readout: Readout::Mean,
            chosen_on: "validation".into(),
            seeds: "validation".into(),
            stepper: "exponential".into(),
            reanchor_every: 8,
            criterion: Criterion::Score,
            sweep: Vec::new(),
        };
        let mut s = PolicySettings::default();
        assert!(t.fits(&s));
        s.stepper = StepperChoice::Euler;
        assert!(!t.fits(&s));
        s.stepper = StepperChoice::Exponential;
        s.streaming.reanchor_every = 4;
        assert!(!t.fits(&s));
        assert_eq!(t.chosen_on_set(), Some(SeedSet::Validation));
    }

    #[test]
    fn choices_are_refused_outside_the_validation_seeds() {
        let ok: Seeds = "validation".parse().unwrap();
        assert_eq!(check_choice_seeds(&ok).unwrap(), SeedSet::Validation);
        let ok: Seeds = "300000..300010".parse().unwrap();
        assert_eq!(check_choice_seeds(&ok).unwrap(), SeedSet::Validation);
        for bad in ["test", "final", "100000,100001", "200490..200510", "5..10"] {
            let s: Seeds = bad.parse().unwrap();
            assert!(
                matches!(
                    check_choice_seeds(&s),
                    Err(RobotError::NotValidationSeeds { .. })
                ),
                "{bad}"
            );
        }
        let e = check_choice_seeds(&"test".parse().unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "choices are made on validation seeds only, not on test seeds"
        );
    }
}
