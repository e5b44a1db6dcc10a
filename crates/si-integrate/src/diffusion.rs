//! The diffusion coefficient ε(t) ≥ 0 of the generative SDEs (arXiv 2303.08797, §2.3).

use std::fmt;
use std::sync::Arc;

use crate::error::{IntegrateError, Result};

/// ε(t), a non-negative function of time. ε = 0 turns the SDEs into the probability-flow ODE.
#[derive(Clone)]
pub struct Diffusion {
    f: Arc<dyn Fn(f64) -> f64 + Send + Sync>,
    label: String,
}

impl Diffusion {
    /// A constant ε ≥ 0.
    pub fn constant(eps: f64) -> Result<Self> {
        if !(eps.is_finite() && eps >= 0.0) {
            return Err(IntegrateError::InvalidDiffusion { t: 0.0, value: eps });
        }
        Ok(Self {
            f: Arc::new(move |_| eps),
            label: format!("{eps}"),
        })
    }

    /// A time-dependent ε(t); its values are checked where it is evaluated.
    pub fn function(
        label: impl Into<String>,
        f: impl Fn(f64) -> f64 + Send + Sync + 'static,
    ) -> Self {
        Self {
            f: Arc::new(f),
            label: label.into(),
        }
    }

    /// ε(t), checked to be finite and ≥ 0.
    pub fn at(&self, t: f64) -> Result<f64> {
        let value = (self.f)(t);
        if value.is_finite() && value >= 0.0 {
            Ok(value)
        } else {
            Err(IntegrateError::InvalidDiffusion { t, value })
        }
    }
}

impl fmt::Debug for Diffusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Diffusion({})", self.label)
    }
}
