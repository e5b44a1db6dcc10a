//! Karras's grid on any Gaussian path (docs/math.md §8.3): each time's noise-to-signal ratio α/β is EDM's
//! σ_i (their eq. 5, written out here), the range is clipped to the path's own, and bad requests are errors.

use si_core::Interpolant;
use si_integrate::TimeGrid;

fn sigma_i(i: usize, n: usize, lo: f64, hi: f64, rho: f64) -> f64 {
    let (a, b) = (hi.powf(1.0 / rho), lo.powf(1.0 / rho));
    (a + i as f64 / (n - 1) as f64 * (b - a)).powf(rho)
}

#[test]
fn grid_times_have_karras_noise_levels() {
    for name in ["fm", "cosine", "linear-vp", "vp", "ve", "one-sided-linear"] {
        let it: Interpolant = name.parse().unwrap();
        let steps = 12;
        let g = TimeGrid::karras(&it, steps, 0.002, 80.0, 7.0).unwrap();
        assert_eq!(g.steps(), steps, "{name}");
        let r = |t: f64| {
            let c = it.schedule(t).unwrap();
            c.alpha / c.beta
        };
        // the path's own range of α/β, and the clipped σ range
        let (hi, lo) = (80f64.min(r(0.0)), 0.002f64.max(r(1.0)));
        let reaches_data = r(1.0) == 0.0;
        let n = if reaches_data { steps } else { steps + 1 };
        for i in 0..n {
            let want = sigma_i(i, n, lo, hi, 7.0);
            let got = r(g.times()[i]);
            assert!(
                (got - want).abs() <= 1e-9 * want,
                "{name} i = {i}: {got} vs {want}"
            );
        }
        if reaches_data {
            assert_eq!(g.end(), 1.0, "{name}");
        }
    }
}

#[test]
fn bad_karras_requests_are_errors() {
    let fm: Interpolant = "fm".parse().unwrap();
    assert!(TimeGrid::karras(&fm, 0, 0.002, 80.0, 7.0).is_err());
    assert!(TimeGrid::karras(&fm, 5, 80.0, 0.002, 7.0).is_err());
    assert!(TimeGrid::karras(&fm, 5, 0.002, 80.0, 0.0).is_err());
    // a two-sided interpolant has no noise-to-signal ratio
    assert!(TimeGrid::karras(&"linear".parse().unwrap(), 5, 0.002, 80.0, 7.0).is_err());
    // a range that misses the path's: VE's α/β lies in [0.01, 50]
    assert!(TimeGrid::karras(&"ve".parse().unwrap(), 5, 100.0, 200.0, 7.0).is_err());
    // one step to clean data
    let g = TimeGrid::karras(&fm, 1, 0.002, 80.0, 7.0).unwrap();
    assert_eq!(g.steps(), 1);
    assert_eq!(g.end(), 1.0);
}
