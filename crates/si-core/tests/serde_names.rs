//! Names (`FromStr`/`Display`) and, with the `serde1` feature, JSON of the built-in interpolants:
//! round trips with identical schedules, typed errors (never panics) for invalid input and custom
//! variants, and one fixed JSON string per family.

use proptest::prelude::*;
use si_core::{
    Coefficients, CoreError, CustomCoefficients, CustomGamma, Gamma, Interpolant, Schedule,
    Sidedness, INTERPOLANT_NAMES,
};

const TIMES: [f64; 5] = [0.0, 0.1, 0.5, 0.9, 1.0];

const FAMILIES: [&str; 7] = [
    "linear",
    "trigonometric",
    "encoder-decoder",
    "mirror",
    "one-sided-linear",
    "one-sided-vp",
    "one-sided-sqrt",
];

fn bits(s: &Schedule) -> [u64; 11] {
    [
        s.t,
        s.alpha,
        s.dalpha,
        s.alpha_dalpha,
        s.beta,
        s.dbeta,
        s.gamma,
        s.dgamma,
        s.gamma_dgamma,
        s.noise_scale,
        s.dnoise_scale,
    ]
    .map(f64::to_bits)
}

/// Same parts and bit-identical schedules at [`TIMES`].
fn assert_same(a: &Interpolant, b: &Interpolant) {
    assert_eq!(a, b);
    assert_eq!(a.sidedness(), b.sidedness());
    for t in TIMES {
        assert_eq!(
            bits(&a.schedule(t).unwrap()),
            bits(&b.schedule(t).unwrap()),
            "{a} vs {b} at t = {t}"
        );
    }
}

/// The interpolant a family/γ pair names, built with the constructors (None: one-sided).
fn construct(family: &str, gamma: Option<Gamma>) -> Option<si_core::Result<Interpolant>> {
    Some(match (family, gamma) {
        ("linear", Some(g)) => Interpolant::linear(g),
        ("trigonometric", Some(g)) => Interpolant::trigonometric(g),
        ("encoder-decoder", Some(g)) => Interpolant::encoder_decoder_with(g),
        ("mirror", Some(g)) => Interpolant::mirror(g),
        ("one-sided-linear", None) => Ok(Interpolant::one_sided_linear()),
        ("one-sided-vp", None) => Ok(Interpolant::one_sided_vp()),
        ("one-sided-sqrt", None) => Ok(Interpolant::one_sided_sqrt()),
        _ => return None,
    })
}

fn gamma_of(kind: usize, a: f64) -> (String, Gamma) {
    match kind {
        0 => ("zero".into(), Gamma::Zero),
        1 => ("sqrt".into(), Gamma::brownian()),
        2 => (format!("sqrt={a}"), Gamma::sqrt(a).unwrap()),
        3 => ("quadratic".into(), Gamma::Quadratic),
        _ => ("sin-squared".into(), Gamma::SinSquared),
    }
}

/// Every built-in interpolant the grammar can name, with a few values of a.
fn builtins() -> Vec<Interpolant> {
    let mut v = Vec::new();
    for fam in FAMILIES {
        if fam.starts_with("one-sided") {
            v.push(construct(fam, None).unwrap().unwrap());
            continue;
        }
        for kind in 0..5 {
            for a in [0.25, 1.0, 2.0, 4.0, 7.5] {
                if let Ok(it) = construct(fam, Some(gamma_of(kind, a).1)).unwrap() {
                    v.push(it);
                }
            }
        }
    }
    v
}

fn custom_gamma() -> Gamma {
    Gamma::Custom(
        CustomGamma::new("my-quadratic", |t| t * (1.0 - t), |t| 1.0 - 2.0 * t)
            .with_gamma_dgamma(|t| t * (1.0 - t) * (1.0 - 2.0 * t)),
    )
}

fn custom_coefficients() -> Coefficients {
    Coefficients::Custom(CustomCoefficients::new("my-linear", |t| {
        [1.0 - t, -1.0, t, 1.0]
    }))
}

proptest! {
    #[test]
    fn every_builtin_round_trips_through_its_name(fam in 0..FAMILIES.len(), kind in 0..5usize,
                                                  x in 0.0..10.0f64, explicit in any::<bool>()) {
        let a = 10.0 - x; // a ∈ (0, 10]
        let family = FAMILIES[fam];
        let one_sided = family.starts_with("one-sided");
        let (gname, gamma) = gamma_of(kind, a);
        let expected = construct(family, (!one_sided).then(|| gamma.clone())).unwrap();
        let name = if one_sided || !explicit { family.to_string() } else { format!("{family}:{gname}") };
        let parsed = name.parse::<Interpolant>();
        if !one_sided && !explicit {
            // the family's default γ
            prop_assert!(parsed.is_ok(), "{name}: {parsed:?}");
        } else {
            prop_assert_eq!(parsed.is_ok(), expected.is_ok(), "{}: {:?} vs {:?}", name, parsed, expected);
        }
        if let (Ok(p), Ok(e)) = (&parsed, &expected) {
            if one_sided || explicit {
                assert_same(p, e);
            }
        }
        if let Ok(p) = parsed {
            let back: Interpolant = p.to_string().parse().unwrap();
            assert_same(&back, &p);
            prop_assert_eq!(back.to_string(), p.to_string());
        }
    }

    #[test]
    fn gamma_names_round_trip(kind in 0..5usize, x in 0.0..10.0f64) {
        let (name, gamma) = gamma_of(kind, 10.0 - x);
        let parsed: Gamma = name.parse().unwrap();
        prop_assert_eq!(&parsed, &gamma);
        prop_assert_eq!(parsed.to_string().parse::<Gamma>().unwrap(), gamma);
    }

    #[test]
    fn arbitrary_names_give_results_not_panics(s in "[a-z:=.0-9+-]{0,24}", t in ".{0,24}") {
        for s in [&s, &t] {
            if let Ok(it) = s.parse::<Interpolant>() {
                assert_same(&it.to_string().parse().unwrap(), &it);
            }
            if let Ok(g) = s.parse::<Gamma>() {
                prop_assert_eq!(g.to_string().parse::<Gamma>().unwrap(), g);
            }
        }
    }
}

#[test]
fn display_is_canonical_and_defaults_are_omitted() {
    let cases = [
        (Interpolant::linear(Gamma::brownian()).unwrap(), "linear"),
        (Interpolant::linear(Gamma::Zero).unwrap(), "linear:zero"),
        (
            Interpolant::linear(Gamma::sqrt(2.5).unwrap()).unwrap(),
            "linear:sqrt=2.5",
        ),
        (
            Interpolant::trigonometric(Gamma::brownian()).unwrap(),
            "trigonometric",
        ),
        (
            Interpolant::trigonometric(Gamma::Quadratic).unwrap(),
            "trigonometric:quadratic",
        ),
        (Interpolant::encoder_decoder(), "encoder-decoder"),
        (
            Interpolant::encoder_decoder_with(Gamma::sqrt(4.0).unwrap()).unwrap(),
            "encoder-decoder:sqrt=4",
        ),
        (Interpolant::mirror(Gamma::brownian()).unwrap(), "mirror"),
        (
            Interpolant::mirror(Gamma::SinSquared).unwrap(),
            "mirror:sin-squared",
        ),
        (Interpolant::one_sided_linear(), "one-sided-linear"),
        (Interpolant::one_sided_vp(), "one-sided-vp"),
        (Interpolant::one_sided_sqrt(), "one-sided-sqrt"),
    ];
    for (it, name) in cases {
        assert_eq!(it.to_string(), name);
        assert_same(&name.parse().unwrap(), &it);
    }
    // aliases and explicit defaults
    for (alias, canonical) in [
        ("linear-zero", "linear:zero"),
        ("trig", "trigonometric"),
        ("trig:sqrt", "trigonometric"),
        ("linear:sqrt=1", "linear"),
        ("encoder-decoder:sin-squared", "encoder-decoder"),
        ("mirror:sqrt", "mirror"),
    ] {
        let a: Interpolant = alias.parse().unwrap();
        assert_same(&a, &canonical.parse().unwrap());
        assert_eq!(a.to_string(), canonical);
    }
    // every built-in
    for it in builtins() {
        assert_same(&it.to_string().parse().unwrap(), &it);
    }
    // the caption is unchanged
    assert_eq!(
        Interpolant::linear(Gamma::brownian()).unwrap().name(),
        "linear, gamma = sqrt(t(1-t))"
    );
}

#[test]
fn invalid_names_give_typed_errors() {
    for bad in [
        "",
        "linear:",
        "lin",
        "Linear",
        " linear",
        "linear:cubic",
        "linear:sqrt=",
        "linear:sqrt=abc",
        "linear:zero:zero",
        "linear-zero:sqrt",
        "one-sided-linear:zero",
        "one-sided-vp:sqrt",
        "trig:sqrt=x",
    ] {
        match bad.parse::<Interpolant>() {
            Err(CoreError::UnknownName { got, expected, .. }) => {
                // the whole name, or its unknown gamma part
                assert!(bad.ends_with(&got), "{bad:?}: {got:?}");
                assert!(!expected.is_empty());
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let msg = "lin".parse::<Interpolant>().unwrap_err().to_string();
    assert!(
        msg.contains("one-sided-vp") && msg.contains("sin-squared"),
        "{msg}"
    );
    assert!(INTERPOLANT_NAMES.contains("encoder-decoder"));
    let msg = "linear:cubic"
        .parse::<Interpolant>()
        .unwrap_err()
        .to_string();
    assert!(msg.contains("gamma") && msg.contains("quadratic"), "{msg}");

    // well-formed names whose interpolant is invalid: the constructor's error
    for bad in [
        "linear:sqrt=-1",
        "linear:sqrt=0",
        "linear:sqrt=NaN",
        "linear:sqrt=inf",
        "trig:sqrt=5",          // γ > 1
        "encoder-decoder:sqrt", // γ(½) ≠ 1
        "encoder-decoder:zero",
        "mirror:zero", // a mirror needs γ > 0 inside (0, 1)
    ] {
        let e = bad.parse::<Interpolant>().unwrap_err();
        assert!(!matches!(e, CoreError::UnknownName { .. }), "{bad}: {e:?}");
    }
    for bad in ["", "Zero", "sqrt=", "sqrt=-2", "sqrt=0", "sqrt(2)", "sin^2"] {
        assert!(bad.parse::<Gamma>().is_err(), "{bad}");
    }
}

#[test]
fn custom_and_unnamed_interpolants_display_without_parsing() {
    let it = Interpolant::linear(custom_gamma()).unwrap();
    assert_eq!(it.to_string(), "linear:custom(my-quadratic)");
    assert!(it.to_string().parse::<Interpolant>().is_err());
    let it = Interpolant::new(
        Sidedness::TwoSided,
        custom_coefficients(),
        Gamma::brownian(),
    )
    .unwrap();
    assert!(it.to_string().starts_with("unnamed("), "{it}");
    assert!(it.to_string().parse::<Interpolant>().is_err());
    // a valid combination outside the grammar
    let it = Interpolant::new(
        Sidedness::TwoSided,
        Coefficients::VariancePreserving,
        Gamma::Quadratic,
    )
    .unwrap();
    assert!(it.to_string().starts_with("unnamed("), "{it}");
    assert!(it.to_string().parse::<Interpolant>().is_err());
    // custom parts are equal to their clones only
    let g = custom_gamma();
    assert_eq!(g, g.clone());
    assert_ne!(g, custom_gamma());
    let c = custom_coefficients();
    assert_eq!(c, c.clone());
    assert_ne!(c, custom_coefficients());
}

#[cfg(feature = "serde1")]
mod json {
    use super::*;

    /// One fixed string per family: a change of the representation must show here.
    const FIXED: [(&str, &str); 9] = [
        (
            "linear",
            r#"{"sidedness":"TwoSided","coefficients":"Linear","gamma":{"Sqrt":{"a":1.0}}}"#,
        ),
        (
            "linear:zero",
            r#"{"sidedness":"TwoSided","coefficients":"Linear","gamma":"Zero"}"#,
        ),
        (
            "trigonometric:sqrt=2.5",
            r#"{"sidedness":"TwoSided","coefficients":"Trigonometric","gamma":{"Sqrt":{"a":2.5}}}"#,
        ),
        (
            "encoder-decoder",
            r#"{"sidedness":"TwoSided","coefficients":"EncoderDecoder","gamma":"SinSquared"}"#,
        ),
        (
            "mirror:quadratic",
            r#"{"sidedness":"Mirror","coefficients":"Mirror","gamma":"Quadratic"}"#,
        ),
        (
            "one-sided-linear",
            r#"{"sidedness":"OneSided","coefficients":"Linear","gamma":"Zero"}"#,
        ),
        (
            "one-sided-vp",
            r#"{"sidedness":"OneSided","coefficients":"VariancePreserving","gamma":"Zero"}"#,
        ),
        (
            "one-sided-sqrt",
            r#"{"sidedness":"OneSided","coefficients":"SqrtOneMinusTSquared","gamma":"Zero"}"#,
        ),
        (
            "mirror",
            r#"{"sidedness":"Mirror","coefficients":"Mirror","gamma":{"Sqrt":{"a":1.0}}}"#,
        ),
    ];

    #[test]
    fn fixed_json_per_family() {
        for (name, json) in FIXED {
            let it: Interpolant = name.parse().unwrap();
            assert_eq!(serde_json::to_string(&it).unwrap(), json, "{name}");
            assert_same(&serde_json::from_str(json).unwrap(), &it);
        }
        // whitespace, field order and integers are accepted on input
        let it: Interpolant = serde_json::from_str(
            r#"{ "gamma": {"Sqrt": {"a": 2}}, "coefficients": "Linear", "sidedness": "TwoSided" }"#,
        )
        .unwrap();
        assert_same(&it, &"linear:sqrt=2".parse().unwrap());
    }

    /// serde_json parses this `a` one ulp off unless its `float_roundtrip` feature is on (found by
    /// `every_builtin_round_trips_through_json`).
    #[test]
    fn sqrt_scale_round_trips_bit_for_bit() {
        for a in [1.808_493_148_052_441_8, 0.1, 1e-7, 9.999_999_999_999_998] {
            let it = Interpolant::linear(Gamma::sqrt(a).unwrap()).unwrap();
            let json = serde_json::to_string(&it).unwrap();
            assert_same(&serde_json::from_str(&json).unwrap(), &it);
            assert_same(&it.to_string().parse().unwrap(), &it);
        }
    }

    #[test]
    fn parts_serialise_on_their_own() {
        assert_eq!(serde_json::to_string(&Gamma::Zero).unwrap(), r#""Zero""#);
        assert_eq!(
            serde_json::to_string(&Gamma::sqrt(3.0).unwrap()).unwrap(),
            r#"{"Sqrt":{"a":3.0}}"#
        );
        assert_eq!(
            serde_json::to_string(&Coefficients::SqrtOneMinusTSquared).unwrap(),
            r#""SqrtOneMinusTSquared""#
        );
        assert_eq!(
            serde_json::to_string(&Sidedness::Mirror).unwrap(),
            r#""Mirror""#
        );
        assert_eq!(
            serde_json::from_str::<Gamma>(r#"{"Sqrt":{"a":0.5}}"#).unwrap(),
            Gamma::sqrt(0.5).unwrap()
        );
        assert_eq!(
            serde_json::from_str::<Coefficients>(r#""Trigonometric""#).unwrap(),
            Coefficients::Trigonometric
        );
        assert_eq!(
            serde_json::from_str::<Sidedness>(r#""OneSided""#).unwrap(),
            Sidedness::OneSided
        );
    }

    #[test]
    fn invalid_json_gives_errors() {
        for bad in [
            // negative, zero, missing a
            r#"{"sidedness":"TwoSided","coefficients":"Linear","gamma":{"Sqrt":{"a":-1}}}"#,
            r#"{"sidedness":"TwoSided","coefficients":"Linear","gamma":{"Sqrt":{"a":0.0}}}"#,
            r#"{"sidedness":"TwoSided","coefficients":"Linear","gamma":{"Sqrt":{}}}"#,
            r#"{"sidedness":"TwoSided","coefficients":"Linear","gamma":{"Sqrt":{"a":null}}}"#,
            // wrong coefficient/sidedness combinations
            r#"{"sidedness":"Mirror","coefficients":"Linear","gamma":{"Sqrt":{"a":1.0}}}"#,
            r#"{"sidedness":"TwoSided","coefficients":"Mirror","gamma":{"Sqrt":{"a":1.0}}}"#,
            r#"{"sidedness":"OneSided","coefficients":"Linear","gamma":{"Sqrt":{"a":1.0}}}"#,
            r#"{"sidedness":"TwoSided","coefficients":"SqrtOneMinusTSquared","gamma":"Zero"}"#,
            r#"{"sidedness":"TwoSided","coefficients":"EncoderDecoder","gamma":"Quadratic"}"#,
            r#"{"sidedness":"TwoSided","coefficients":"Trigonometric","gamma":{"Sqrt":{"a":5.0}}}"#,
            r#"{"sidedness":"Mirror","coefficients":"Mirror","gamma":"Zero"}"#,
            // unknown variants, fields and shapes
            r#"{"sidedness":"TwoSided","coefficients":"Linear","gamma":"Cubic"}"#,
            r#"{"sidedness":"TwoSided","coefficients":"Quadratic","gamma":"Zero"}"#,
            r#"{"sidedness":"ThreeSided","coefficients":"Linear","gamma":"Zero"}"#,
            r#"{"sidedness":"TwoSided","coefficients":"Linear","gamma":"Zero","extra":1}"#,
            r#"{"sidedness":"TwoSided","coefficients":"Linear"}"#,
            r#"{"sidedness":"TwoSided","coefficients":"Custom","gamma":"Zero"}"#,
            r#"{"sidedness":"TwoSided","coefficients":"Linear","gamma":{"Custom":"x"}}"#,
            r#"{"sidedness":"twosided","coefficients":"Linear","gamma":"Zero"}"#,
            r#""linear""#,
            r#"[]"#,
            r#"null"#,
            r#"{"#,
        ] {
            assert!(serde_json::from_str::<Interpolant>(bad).is_err(), "{bad}");
        }
        let e = serde_json::from_str::<Interpolant>(
            r#"{"sidedness":"TwoSided","coefficients":"Linear","gamma":{"Sqrt":{"a":-1}}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`a`"), "{e}");
        let e = serde_json::from_str::<Interpolant>(
            r#"{"sidedness":"Mirror","coefficients":"Linear","gamma":{"Sqrt":{"a":1.0}}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("mirror"), "{e}");
        assert!(serde_json::from_str::<Gamma>(r#"{"Sqrt":{"a":-1}}"#).is_err());
    }

    #[test]
    fn custom_variants_do_not_serialise() {
        let g = custom_gamma();
        let e = serde_json::to_string(&g).unwrap_err().to_string();
        assert!(
            e.contains("Gamma::Custom") && e.contains("my-quadratic"),
            "{e}"
        );
        let e = serde_json::to_string(&Interpolant::linear(g).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("Gamma::Custom"), "{e}");
        let c = custom_coefficients();
        let e = serde_json::to_string(&c).unwrap_err().to_string();
        assert!(
            e.contains("Coefficients::Custom") && e.contains("my-linear"),
            "{e}"
        );
        let it = Interpolant::new(Sidedness::TwoSided, c, Gamma::brownian()).unwrap();
        let e = serde_json::to_string(&it).unwrap_err().to_string();
        assert!(e.contains("Coefficients::Custom"), "{e}");
        assert!(serde_json::to_value(&it).is_err());
    }

    proptest! {
        #[test]
        fn every_builtin_round_trips_through_json(fam in 0..FAMILIES.len(), kind in 0..5usize,
                                                  x in 0.0..10.0f64) {
            let family = FAMILIES[fam];
            let one_sided = family.starts_with("one-sided");
            let gamma = gamma_of(kind, 10.0 - x).1;
            if let Ok(it) = construct(family, (!one_sided).then_some(gamma)).unwrap() {
                let json = serde_json::to_string(&it).unwrap();
                let back: Interpolant = serde_json::from_str(&json).unwrap();
                assert_same(&back, &it);
                prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
                let value = serde_json::to_value(&it).unwrap();
                assert_same(&serde_json::from_value(value).unwrap(), &it);
            }
        }

        #[test]
        fn arbitrary_json_gives_results_not_panics(s in "[a-zA-Z{}\":,0-9. -]{0,80}") {
            if let Ok(it) = serde_json::from_str::<Interpolant>(&s) {
                let back: Interpolant = serde_json::from_str(&serde_json::to_string(&it).unwrap()).unwrap();
                assert_same(&back, &it);
            }
        }

        #[test]
        fn json_with_any_sqrt_scale_is_checked(a in -10.0..10.0f64, fam in 0..4usize) {
            let (sid, coef) = [("TwoSided", "Linear"), ("TwoSided", "Trigonometric"),
                               ("TwoSided", "EncoderDecoder"), ("Mirror", "Mirror")][fam];
            let json = format!(r#"{{"sidedness":"{sid}","coefficients":"{coef}","gamma":{{"Sqrt":{{"a":{a}}}}}}}"#);
            let r = serde_json::from_str::<Interpolant>(&json);
            let expected = construct(FAMILIES[fam], Some(Gamma::Sqrt { a })).unwrap();
            prop_assert_eq!(r.is_ok(), expected.is_ok(), "{} {:?}", json, r);
            if a <= 0.0 {
                prop_assert!(r.is_err());
            }
        }
    }
}
