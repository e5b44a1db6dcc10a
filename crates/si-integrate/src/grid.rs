//! Time grids for integration, forward (t increasing) or backward (t decreasing).

use si_core::{karras_sigmas, Interpolant};

use crate::error::{IntegrateError, Result};

/// A validated, strictly monotone sequence of times in [0, 1].
#[derive(Clone, Debug, PartialEq)]
pub struct TimeGrid {
    times: Vec<f64>,
}

impl TimeGrid {
    /// `steps` equal steps from `t_start` to `t_end` (either direction).
    ///
    /// ```
    /// let g = si_integrate::TimeGrid::uniform(1.0, 0.0, 4).unwrap();
    /// assert_eq!(g.times(), &[1.0, 0.75, 0.5, 0.25, 0.0]);
    /// assert!(si_integrate::TimeGrid::uniform(0.0, 1.5, 4).is_err());
    /// ```
    pub fn uniform(t_start: f64, t_end: f64, steps: usize) -> Result<Self> {
        if steps == 0 {
            return Err(IntegrateError::InvalidGrid(
                "at least one step is needed".into(),
            ));
        }
        let times = (0..=steps)
            .map(|k| {
                if k == steps {
                    t_end
                } else {
                    t_start + (t_end - t_start) * k as f64 / steps as f64
                }
            })
            .collect();
        Self::from_times(times)
    }

    /// A grid from explicit times (checked: in [0, 1], finite, strictly monotone, at least two).
    pub fn from_times(times: Vec<f64>) -> Result<Self> {
        if times.len() < 2 {
            return Err(IntegrateError::InvalidGrid(
                "at least two times are needed".into(),
            ));
        }
        if let Some(t) = times
            .iter()
            .find(|t| !(t.is_finite() && (0.0..=1.0).contains(*t)))
        {
            return Err(IntegrateError::InvalidGrid(format!(
                "time {t} is outside [0, 1]"
            )));
        }
        let up = times[1] > times[0];
        if !times
            .windows(2)
            .all(|w| if up { w[1] > w[0] } else { w[1] < w[0] })
        {
            return Err(IntegrateError::InvalidGrid(
                "times must be strictly monotone".into(),
            ));
        }
        Ok(Self { times })
    }

    /// The times, t_0 … t_N.
    pub fn times(&self) -> &[f64] {
        &self.times
    }
    /// Number of steps N.
    pub fn steps(&self) -> usize {
        self.times.len() - 1
    }
    /// First time.
    pub fn start(&self) -> f64 {
        self.times[0]
    }
    /// Last time.
    pub fn end(&self) -> f64 {
        self.times[self.times.len() - 1]
    }
    /// Whether time decreases along the grid.
    pub fn is_backward(&self) -> bool {
        self.end() < self.start()
    }

    /// Karras et al.'s ρ-spaced noise levels (EDM eq. 5) as a forward time grid of `steps` steps for any
    /// one-sided interpolant (docs/math.md §8.3): the noise-to-signal ratios σ_i = α/β run from σ_max to
    /// σ_min (each clipped to the interpolant's own range [α(1)/β(1), α(0)/β(0)]) and t_i solves
    /// α(t_i)/β(t_i) = σ_i. When the interpolant reaches clean data (α(1) = 0) the last step goes on to
    /// t = 1, as EDM's goes to σ = 0. For the EDM preset with its own σ range this is the uniform grid.
    ///
    /// ```
    /// use si_core::Interpolant;
    /// let edm: Interpolant = "edm".parse().unwrap();
    /// let g = si_integrate::TimeGrid::karras(&edm, 4, 0.002, 80.0, 7.0).unwrap();
    /// assert!(g.times().iter().zip([0.0, 0.25, 0.5, 0.75, 1.0]).all(|(a, b)| (a - b).abs() < 1e-12));
    /// let fm: Interpolant = "fm".parse().unwrap();
    /// let g = si_integrate::TimeGrid::karras(&fm, 10, 0.002, 80.0, 7.0).unwrap();
    /// assert!((g.start() - 1.0 / 81.0).abs() < 1e-12 && g.end() == 1.0 && g.steps() == 10);
    /// ```
    pub fn karras(
        interpolant: &Interpolant,
        steps: usize,
        sigma_min: f64,
        sigma_max: f64,
        rho: f64,
    ) -> Result<Self> {
        if steps == 0 {
            return Err(IntegrateError::InvalidGrid(
                "at least one step is needed".into(),
            ));
        }
        let (l0, l1) = (interpolant.log_snr(0.0), interpolant.log_snr(1.0));
        if l0.is_nan() || l1.is_nan() {
            return Err(IntegrateError::InvalidGrid(format!(
                "a Karras grid needs a one-sided interpolant (a Gaussian path), not {interpolant}"
            )));
        }
        // noise-to-signal ratio r = α/β = e^{−λ}
        let (hi, lo) = (sigma_max.min((-l0).exp()), sigma_min.max((-l1).exp()));
        if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
            return Err(IntegrateError::InvalidGrid(format!(
                "the noise-to-signal range [{sigma_min}, {sigma_max}] misses the interpolant's [{}, {}]",
                (-l1).exp(),
                (-l0).exp()
            )));
        }
        let to_one = l1 == f64::INFINITY;
        let sigmas = if to_one && steps == 1 {
            karras_sigmas(2, lo, hi, rho)?[..1].to_vec()
        } else {
            karras_sigmas(if to_one { steps } else { steps + 1 }, lo, hi, rho)?
        };
        let mut times = sigmas
            .iter()
            .map(|s| {
                interpolant.time_of_log_snr(-s.ln()).ok_or_else(|| {
                    IntegrateError::InvalidGrid(format!("noise-to-signal ratio {s} out of range"))
                })
            })
            .collect::<Result<Vec<f64>>>()?;
        if to_one {
            times.push(1.0);
        }
        Self::from_times(times)
    }
}
