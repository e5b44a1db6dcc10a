//! Presets: names, serialisation, checked parameters, coefficients against finite differences, the log
//! signal-to-noise ratio and its inverse, Karras's grid (docs/math.md §8).

use proptest::prelude::*;
use si_core::{karras_sigmas, Coefficients, CoreError, Gamma, Interpolant, Preset, Sidedness};

const NAMES: [&str; 8] = [
    "edm",
    "edm:sigma_min=0,rho=3",
    "ve",
    "ve:sigma_max=378",
    "vp",
    "vp:beta_min=0.5,beta_max=8",
    "fm",
    "fm:sigma_min=0.001",
];

#[test]
fn names_round_trip_and_aliases_resolve() {
    for name in NAMES {
        let it: Interpolant = name.parse().unwrap();
        assert_eq!(it.to_string(), name);
        assert_eq!(it.to_string().parse::<Interpolant>().unwrap(), it);
        assert_eq!(it.sidedness(), Sidedness::OneSided);
    }
    let p = |s: &str| s.parse::<Interpolant>().unwrap();
    assert_eq!(p("flow-matching"), p("fm"));
    assert_eq!(p("edm:rho=7,sigma_max=80"), p("edm"));
    assert_eq!(
        p("rectified-flow"),
        Interpolant::linear(Gamma::Zero).unwrap()
    );
    assert_eq!(p("cosine"), Interpolant::one_sided_vp());
    assert_eq!(p("linear-vp"), Interpolant::one_sided_sqrt());
    assert_eq!(
        p("vp:beta_max=10"),
        Interpolant::preset(Preset::vp(0.1, 10.0).unwrap()).unwrap()
    );
}

#[test]
fn bad_names_and_parameters_are_typed_errors() {
    for bad in [
        "edm:sigma_max",
        "edm:sigma_max=abc",
        "edm:sigma_max=1,sigma_max=2",
        "ve:rho=3",
        "vp:beta_min=1,",
        "fm:sigma_min=1",
        "edm:sigma_min=5,sigma_max=1",
        "ve:sigma_min=0",
        "vp:beta_min=-1",
        "edm:rho=0",
        "edm:sigma_max=inf",
        "edmx",
    ] {
        assert!(bad.parse::<Interpolant>().is_err(), "{bad} parsed");
    }
    assert!(matches!(
        Preset::edm(0.1, 0.1, 7.0),
        Err(CoreError::InvalidParameter { .. })
    ));
    assert!(Preset::ve(-1.0, 2.0).is_err());
    assert!(Preset::vp(2.0, 1.0).is_err());
    assert!(Preset::flow_matching(f64::NAN).is_err());
    // a preset is one-sided with γ = 0
    for (side, g) in [
        (Sidedness::TwoSided, Gamma::Zero),
        (Sidedness::Mirror, Gamma::brownian()),
        (Sidedness::OneSided, Gamma::brownian()),
    ] {
        assert!(Interpolant::new(side, Coefficients::Preset(Preset::EDM), g).is_err());
    }
    // an unchecked invalid preset is caught by the interpolant's validation
    let bad = Preset::Ve {
        sigma_min: 2.0,
        sigma_max: 1.0,
    };
    assert!(Interpolant::preset(bad).is_err());
}

#[cfg(feature = "serde1")]
#[test]
fn presets_serialise_and_old_shapes_still_read() {
    for name in NAMES {
        let it: Interpolant = name.parse().unwrap();
        let json = serde_json::to_string(&it).unwrap();
        assert_eq!(serde_json::from_str::<Interpolant>(&json).unwrap(), it);
    }
    let edm = serde_json::to_string(&"edm".parse::<Interpolant>().unwrap()).unwrap();
    assert_eq!(
        edm,
        r#"{"sidedness":"OneSided","coefficients":{"Preset":{"Edm":{"sigma_min":0.002,"sigma_max":80.0,"rho":7.0}}},"gamma":"Zero"}"#
    );
    // a checkpoint written before presets existed
    let old = r#"{"sidedness":"OneSided","coefficients":"Linear","gamma":"Zero"}"#;
    assert_eq!(
        serde_json::from_str::<Interpolant>(old).unwrap(),
        Interpolant::one_sided_linear()
    );
    // invalid parameters are refused on reading
    let bad = r#"{"sidedness":"OneSided","coefficients":{"Preset":{"Ve":{"sigma_min":0.0,"sigma_max":1.0}}},"gamma":"Zero"}"#;
    assert!(serde_json::from_str::<Interpolant>(bad).is_err());
}

/// Karras's grid: EDM eq. 5 written out, endpoints exact, and the EDM preset's uniform t grid is it.
#[test]
fn karras_grid_is_edm_eq5_and_the_edm_presets_uniform_grid() {
    let n = 18;
    let s = karras_sigmas(n, 0.002, 80.0, 7.0).unwrap();
    let edm: Interpolant = "edm".parse().unwrap();
    for (i, si) in s.iter().enumerate() {
        let r = 1.0 / 7.0;
        let want = (80f64.powf(r) + i as f64 / 17.0 * (0.002f64.powf(r) - 80f64.powf(r))).powf(7.0);
        assert!((si - want).abs() <= 1e-12 * want, "{i}: {si} vs {want}");
        let t = i as f64 / (n - 1) as f64;
        assert!((edm.schedule(t).unwrap().alpha - want).abs() <= 1e-12 * want);
    }
    assert!(karras_sigmas(1, 0.002, 80.0, 7.0).is_err());
    assert!(karras_sigmas(5, 1.0, 0.5, 7.0).is_err());
}

fn preset_strategy() -> impl Strategy<Value = Interpolant> {
    prop_oneof![
        (0.0f64..0.5, 1.0f64..100.0, 1.0f64..9.0)
            .prop_map(|(a, b, r)| Interpolant::preset(Preset::edm(a, b, r).unwrap()).unwrap()),
        (0.001f64..0.5, 1.0f64..100.0)
            .prop_map(|(a, b)| Interpolant::preset(Preset::ve(a, b).unwrap()).unwrap()),
        (0.01f64..1.0, 1.0f64..25.0)
            .prop_map(|(a, b)| Interpolant::preset(Preset::vp(a, b).unwrap()).unwrap()),
        (0.0f64..0.5).prop_map(|a| Interpolant::preset(Preset::flow_matching(a).unwrap()).unwrap()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// α̇ and β̇ are the derivatives of α and β (central differences), αα̇ = α·α̇, and the name round-trips.
    #[test]
    fn coefficients_have_their_derivatives(it in preset_strategy(), t in 0.01f64..0.99) {
        let h = 1e-6;
        let c = it.schedule(t).unwrap();
        let (p, m) = (it.schedule(t + h).unwrap(), it.schedule(t - h).unwrap());
        let da = (p.alpha - m.alpha) / (2.0 * h);
        let db = (p.beta - m.beta) / (2.0 * h);
        prop_assert!((c.dalpha - da).abs() <= 1e-5 * (1.0 + da.abs()), "{it}: {} vs {da}", c.dalpha);
        prop_assert!((c.dbeta - db).abs() <= 1e-5 * (1.0 + db.abs()), "{it}: {} vs {db}", c.dbeta);
        prop_assert!((c.alpha_dalpha - c.alpha * c.dalpha).abs() <= 1e-9 * (1.0 + c.alpha_dalpha.abs()));
        prop_assert!((c.noise_scale - c.alpha).abs() == 0.0);
        prop_assert_eq!(it.to_string().parse::<Interpolant>().unwrap(), it);
    }

    /// λ increases, and time_of_log_snr inverts it (to the last bits) inside its range, None outside.
    #[test]
    fn log_snr_inverts(it in preset_strategy(), t in 0.001f64..0.999) {
        let l = it.log_snr(t);
        let back = it.time_of_log_snr(l).unwrap();
        prop_assert!((back - t).abs() < 1e-12, "{it}: {t} -> {l} -> {back}");
        prop_assert!(it.log_snr(t + 1e-4) > l);
        let (l0, l1) = (it.log_snr(0.0), it.log_snr(1.0));
        if l0.is_finite() {
            prop_assert!(it.time_of_log_snr(l0 - 1.0).is_none());
        }
        if l1.is_finite() {
            prop_assert!(it.time_of_log_snr(l1 + 1.0).is_none());
        }
    }
}

#[test]
fn log_snr_is_nan_for_two_sided_interpolants() {
    let it = Interpolant::linear(Gamma::brownian()).unwrap();
    assert!(it.log_snr(0.5).is_nan());
    assert!(it.time_of_log_snr(0.0).is_none());
    assert_eq!(it.base_scale(), 1.0);
    assert_eq!(Interpolant::one_sided_linear().base_scale(), 1.0);
}
