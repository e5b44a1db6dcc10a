//! Time grids for integration, forward (t increasing) or backward (t decreasing).

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
}
