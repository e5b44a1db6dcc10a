//! si-analytic
