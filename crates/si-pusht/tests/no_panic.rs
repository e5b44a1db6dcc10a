//! No panic from a public function on any input: bad input is a typed error.
//!
//! Regression tests for the panics that were found, then property tests (fuzzing) over the public
//! constructors and readers: expert settings, render sizes, the environment, and the demonstrations reader.
//!
//! The default run is fast (4096 cases for each reader and settings check, 32 for each property that
//! simulates or renders; about a second). For a long run set `PROPTEST_CASES`, which every property then
//! runs:
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test -p si-pusht -p si-data --test no_panic
//! ```
//!
//! (about 12 minutes on 2 cores, most of it the expert and rendering properties; add a name filter such
//! as `demos_` for the readers alone, 10 s). Not `--release`: the test profile is optimised but keeps
//! overflow checks, which turn a silent wrap into a panic the fuzzer reports.

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use si_pusht::expert::{ExpertParams, MIN_DETOUR_RADIUS};
use si_pusht::render::{
    draw_frame, episode_gif, frame_png, strip_png, Frame, MAX_GIF_DELAY_MS, MAX_PIXELS, MAX_SIDE,
    MAX_STRIP_SIDE, MIN_CELL,
};
use si_pusht::{
    run_episode, Action, Demonstrations, Expert, ExpertConfig, Obs, Policy, PushT, PushTError,
};

/// `PROPTEST_CASES` if set, otherwise `default`. (proptest 1.12's `proptest!` also re-applies the variable
/// over any explicit config, `with_cases` included; this keeps the override with older versions too.)
fn cases(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A fresh temporary folder, removed when dropped.
fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("si-robot-no-panic-")
        .tempdir()
        .unwrap()
}

/// Any f64, weighted towards the troublesome ones.
fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        Just(f64::MAX),
        Just(f64::MIN),
        Just(f64::MIN_POSITIVE),
        Just(f64::EPSILON),
        -1e3..1e3f64,
        -1e300..1e300f64,
        any::<f64>(),
    ]
}

fn any_usize() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1usize),
        Just(usize::MAX),
        Just(usize::MAX / 2 + 1),
        0usize..64,
        any::<usize>(),
    ]
}

fn any_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(u32::MAX),
        Just(u32::MAX / 2 + 1),
        Just(65_536u32),
        0u32..16,
        any::<u32>(),
    ]
}

/// A plausible observation (inside or near the arena).
fn arena_obs() -> impl Strategy<Value = Obs> {
    (
        0.0..512.0f64,
        0.0..512.0f64,
        50.0..450.0f64,
        50.0..450.0f64,
        0.0..std::f64::consts::TAU,
    )
        .prop_map(|(a, b, c, d, e)| [a, b, c, d, e])
}

/// Any observation: plausible, or with arbitrary (non-finite, huge) entries.
fn any_obs() -> impl Strategy<Value = Obs> {
    prop_oneof![
        arena_obs(),
        prop::array::uniform5(any_f64()),
        (arena_obs(), 0usize..5, any_f64()).prop_map(|(mut o, i, v)| {
            o[i] = v;
            o
        }),
    ]
}

fn any_config() -> impl Strategy<Value = ExpertConfig> {
    (
        any_usize(),
        any_f64(),
        any_f64(),
        any_f64(),
        prop::collection::vec(prop_oneof![any_f64(), 0.0..200.0f64], 0..4),
        prop_oneof![any_f64(), 80.0..600.0f64],
        any_usize(),
        prop_oneof![any_f64(), 0.0..600.0f64],
    )
        .prop_map(
            |(
                top_k,
                temperature,
                travel_noise,
                push_noise,
                depths,
                detour_radius,
                steps,
                settle,
            )| {
                ExpertConfig {
                    top_k,
                    temperature,
                    travel_noise,
                    push_noise,
                    depths,
                    detour_radius,
                    max_travel_steps: steps,
                    settle_tolerance: settle,
                }
            },
        )
}

/// Valid settings, with values across their whole ranges.
fn valid_config() -> impl Strategy<Value = ExpertConfig> {
    (
        1usize..8,
        prop_oneof![Just(0.0), 0.0..10.0f64, Just(1e300)],
        prop_oneof![Just(0.0), 0.0..512.0f64],
        prop_oneof![Just(0.0), 0.0..512.0f64],
        prop::collection::vec(prop_oneof![Just(0.0), Just(512.0), 0.0..512.0f64], 1..3),
        prop_oneof![Just(512.0), 92.0..512.0f64],
        1usize..60,
        prop_oneof![Just(512.0), 1e-3..512.0f64],
    )
        .prop_map(
            |(
                top_k,
                temperature,
                travel_noise,
                push_noise,
                depths,
                detour_radius,
                steps,
                settle,
            )| {
                ExpertConfig {
                    top_k,
                    temperature,
                    travel_noise,
                    push_noise,
                    depths,
                    detour_radius,
                    max_travel_steps: steps,
                    settle_tolerance: settle,
                }
            },
        )
}

/// What `ExpertConfig::check` must accept, restated.
fn should_accept(c: &ExpertConfig) -> bool {
    let in_arena = |v: f64| v.is_finite() && (0.0..=512.0).contains(&v);
    c.top_k >= 1
        && c.temperature.is_finite()
        && c.temperature >= 0.0
        && in_arena(c.travel_noise)
        && in_arena(c.push_noise)
        && !c.depths.is_empty()
        && c.depths.iter().all(|&d| in_arena(d))
        && c.detour_radius.is_finite()
        && c.detour_radius > MIN_DETOUR_RADIUS
        && c.detour_radius <= 512.0
        && c.max_travel_steps >= 1
        && c.settle_tolerance.is_finite()
        && c.settle_tolerance > 0.0
        && c.settle_tolerance <= 512.0
}

fn frame() -> Frame {
    ([256.0, 400.0, 256.0, 300.0, 0.0], Some([256.0, 380.0]))
}

fn is_invalid<T: std::fmt::Debug>(r: &Result<T, PushTError>) -> bool {
    matches!(r, Err(PushTError::InvalidParameter { .. }))
}

fn demo_set() -> Demonstrations {
    let mut d = Demonstrations::default();
    for seed in [10u64, 11] {
        d.push_episode(&run_episode(&mut Expert::default(), seed, 4).unwrap())
            .unwrap();
    }
    d
}

/// A safetensors file holding `tensors` (name, dtype, shape, data offsets) and `data`.
fn safetensors_bytes(tensors: &[(String, String, Vec<u128>, [u128; 2])], data: &[u8]) -> Vec<u8> {
    let mut h = String::from("{\"__metadata__\":{\"format\":\"pusht-demos-v1\"}");
    for (name, dtype, shape, [s, e]) in tensors {
        let shape: Vec<String> = shape.iter().map(u128::to_string).collect();
        h.push_str(&format!(
            ",\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{s},{e}]}}",
            shape.join(",")
        ));
    }
    h.push('}');
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

/// `from_bytes` never panics; what it accepts is valid and writes back to the same bytes' meaning.
fn check_demos_bytes(bytes: &[u8]) -> Result<(), TestCaseError> {
    match Demonstrations::from_bytes(bytes) {
        Ok(d) => {
            prop_assert!(d.validate().is_ok());
            let again = Demonstrations::from_bytes(&d.to_bytes().unwrap()).unwrap();
            prop_assert_eq!(again, d);
        }
        Err(PushTError::Demonstrations(_)) => {}
        Err(e) => prop_assert!(false, "unexpected error kind {e:?}"),
    }
    Ok(())
}

// ---- regression tests: each input panicked before the fix ----

#[test]
fn infinite_push_noise_is_a_typed_error() {
    // panicked at expert.rs `Normal::new(..).expect("positive deviation")` on the first plan
    let cfg = ExpertConfig {
        push_noise: f64::INFINITY,
        ..ExpertConfig::default()
    };
    let r = Expert::new(cfg);
    assert!(
        matches!(
            r,
            Err(PushTError::InvalidParameter {
                name: "push_noise",
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn infinite_travel_noise_is_a_typed_error() {
    // panicked at expert.rs `Normal::new(..).expect(..)` on the first detour
    let cfg = ExpertConfig {
        travel_noise: f64::INFINITY,
        ..ExpertConfig::default()
    };
    assert!(is_invalid(&Expert::new(cfg)));
}

#[test]
fn bad_temperatures_are_typed_errors() {
    // NaN panicked in `random_range(0.0..total)` (total NaN); a negative one can make total infinite
    for t in [f64::NAN, -1.0, f64::INFINITY, f64::NEG_INFINITY] {
        let cfg = ExpertConfig {
            temperature: t,
            ..ExpertConfig::default()
        };
        assert!(is_invalid(&cfg.check()), "temperature {t}");
    }
}

#[test]
fn other_bad_settings_are_typed_errors() {
    let d = ExpertConfig::default;
    for cfg in [
        ExpertConfig { top_k: 0, ..d() },
        ExpertConfig {
            depths: vec![],
            ..d()
        },
        ExpertConfig {
            depths: vec![1.0, f64::NAN],
            ..d()
        },
        ExpertConfig {
            depths: vec![-1.0],
            ..d()
        },
        ExpertConfig {
            detour_radius: 50.0,
            ..d()
        },
        ExpertConfig {
            detour_radius: f64::INFINITY,
            ..d()
        },
        ExpertConfig {
            max_travel_steps: 0,
            ..d()
        },
        ExpertConfig {
            push_noise: -0.5,
            ..d()
        },
        ExpertConfig {
            settle_tolerance: 0.0,
            ..d()
        },
        ExpertConfig {
            settle_tolerance: f64::NAN,
            ..d()
        },
        ExpertConfig {
            settle_tolerance: 600.0,
            ..d()
        },
    ] {
        assert!(is_invalid(&cfg.check()), "{cfg:?}");
    }
    assert!(ExpertConfig::default().check().is_ok());
    assert_eq!(
        ExpertParams::default(),
        ExpertConfig::default().check().unwrap()
    );
}

#[test]
fn small_and_huge_strip_cells_are_typed_errors() {
    // cell 3 panicked at render.rs `cell - 4` (usize underflow); a huge cell at `cell * cols as u32`
    let f = [frame(), frame()];
    let dir = tmp();
    for (cols, cell) in [(1, 0), (1, 3), (1, 4), (2, u32::MAX / 2 + 1), (2, 5000)] {
        let path = dir.path().join("strip.png");
        assert!(
            is_invalid(&strip_png(&f, &path, cols, cell)),
            "{cols} x {cell}"
        );
        assert!(!path.exists());
    }
    // 2 x 2 cells of 4096 px is 8192 px a side and 2^26 pixels: the largest allowed
    let (big, ok) = (dir.path().join("s.png"), dir.path().join("ok.png"));
    assert!(
        is_invalid(&strip_png(&[frame(); 5], &big, 2, 4096)),
        "12288 px high, over 2^26 pixels"
    );
    assert!(strip_png(&f, &ok, 2, MIN_CELL).is_ok());
}

#[test]
fn bad_frame_and_gif_sizes_are_typed_errors() {
    // a GIF side over 65535 was truncated to u16 by plotters' encoder (a panic on the frame size); a delay
    // near u32::MAX overflowed `delay + 5` there
    let f = [frame()];
    let dir = tmp();
    let (png, gif) = (dir.path().join("f.png"), dir.path().join("g.gif"));
    assert!(is_invalid(&frame_png(&f[0], &png, 0)));
    assert!(is_invalid(&frame_png(&f[0], &png, MAX_SIDE + 1)));
    assert!(is_invalid(&episode_gif(&f, &gif, 70_000, 100)));
    assert!(is_invalid(&episode_gif(&f, &gif, 0, 100)));
    assert!(is_invalid(&episode_gif(&f, &gif, 16, u32::MAX)));
    assert!(episode_gif(&f, &gif, 16, MAX_GIF_DELAY_MS).is_ok());
}

#[test]
fn far_off_frames_draw() {
    // pixel coordinates are clamped before plotters adds to them
    let dir = tmp();
    let path = dir.path().join("far.png");
    for v in [f64::MAX, f64::MIN, f64::NAN, f64::INFINITY, 3e9, -3e9] {
        let f: Frame = ([v, v, v, v, v], Some([v, -v]));
        frame_png(&f, &path, 32).unwrap();
    }
}

#[test]
fn safetensors_offset_overflow_is_a_typed_error() {
    // panicked (with overflow checks) in safetensors 0.4 `buffer_end + 8 + n` on an end offset near usize::MAX
    let big = u128::from(u64::MAX);
    let b = safetensors_bytes(&[("obs".into(), "U8".into(), vec![big], [0, big])], &[]);
    assert!(matches!(
        Demonstrations::from_bytes(&b),
        Err(PushTError::Demonstrations(_))
    ));
}

#[test]
fn negative_or_missing_episode_ends_are_refused() {
    // a negative end was clamped to 0 and rows outside any episode were accepted
    let d = demo_set();
    let mut bad = d.clone();
    bad.episode_ends.clear();
    bad.seeds.clear();
    assert!(bad.to_bytes().is_err());
    // write a file with a negative end by hand: patch the bytes of the first end (ends are [4, 8])
    assert_eq!(d.episode_ends, [4, 8]);
    let bytes = d.to_bytes().unwrap();
    let ends: Vec<u8> = [4i64, 8].iter().flat_map(|e| e.to_le_bytes()).collect();
    let ends_at = bytes
        .windows(16)
        .position(|w| w == ends)
        .expect("the ends in the file");
    let mut patched = bytes.clone();
    patched[ends_at..ends_at + 8].copy_from_slice(&(-4i64).to_le_bytes());
    assert!(Demonstrations::from_bytes(&patched).is_err());
    assert_eq!(Demonstrations::from_bytes(&bytes).unwrap(), d);
}

// ---- property tests ----

proptest! {
    #![proptest_config(cases(4096))]

    /// `check` accepts exactly the documented ranges and never panics.
    #[test]
    fn expert_config_check_is_total(cfg in any_config()) {
        let r = cfg.check();
        prop_assert_eq!(r.is_ok(), should_accept(&cfg), "{:?} -> {:?}", cfg, r);
        if let Err(e) = r {
            prop_assert!(matches!(e, PushTError::InvalidParameter { .. }), "{:?}", e);
            let _ = e.to_string();
        }
    }

    /// The demonstrations reader on arbitrary bytes.
    #[test]
    fn demos_from_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check_demos_bytes(&bytes)?;
    }

    /// The demonstrations reader on a header-length prefix and an arbitrary (often JSON-like) header.
    #[test]
    fn demos_from_arbitrary_headers(header in "\\{[\"a-z_:,\\[\\]{}0-9 ]{0,120}\\}", tail in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(&tail);
        check_demos_bytes(&b)?;
    }

    /// The demonstrations reader on structured, near-valid files: the four tensors (and a stray one) with
    /// random dtypes, shapes (including huge) and data offsets (consistent with the shapes, or random), and
    /// random data.
    #[test]
    fn demos_from_structured_files(
        tensors in prop::collection::vec(
            (
                prop_oneof![Just("obs"), Just("action"), Just("episode_ends"), Just("seeds"), Just("x")],
                prop_oneof![Just("F64"), Just("I64"), Just("U8"), Just("F32"), Just("BOOL"), Just("Q9")],
                prop::collection::vec(
                    prop_oneof![0u128..8, Just(2u128), Just(5u128), Just(u128::from(u64::MAX)), Just(1u128 << 61), Just(u128::MAX)],
                    0..3,
                ),
                prop::option::of((
                    prop_oneof![0u128..200, Just(u128::from(u64::MAX)), Just(u128::MAX)],
                    prop_oneof![0u128..200, Just(u128::from(u64::MAX)), Just(u128::MAX)],
                )),
            ),
            0..6,
        ),
        data in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut end = 0u128;
        let t: Vec<_> = tensors
            .into_iter()
            .map(|(n, d, shape, offsets)| {
                let size: u128 = match d { "F64" | "I64" => 8, "F32" => 4, _ => 1 };
                // consistent offsets: this tensor's bytes right after the previous one's
                let [a, b] = offsets.map_or_else(
                    || [end, shape.iter().fold(size, |p, &x| p.saturating_mul(x)).saturating_add(end)],
                    |(a, b)| [a.min(b), a.max(b)],
                );
                end = b;
                (n.to_string(), d.to_string(), shape, [a, b])
            })
            .collect();
        check_demos_bytes(&safetensors_bytes(&t, &data))?;
    }

    /// The demonstrations reader on mutations of a valid file: bytes overwritten, flipped, inserted,
    /// removed, numbers in the header replaced, the file truncated.
    #[test]
    fn demos_from_mutated_files(
        edits in prop::collection::vec((0u8..6, any::<prop::sample::Index>(), any::<u8>(), any_usize()), 1..4),
    ) {
        let mut b = VALID.with(|v| v.clone());
        for (kind, at, byte, number) in edits {
            if b.len() < 8 {
                break;
            }
            let i = at.index(b.len());
            match kind {
                0 => b[i] = byte,
                1 => b[i] ^= 1 << (byte % 8),
                2 => b.insert(i, byte),
                3 => { b.remove(i); }
                4 => b.truncate(i),
                _ => {
                    // replace the digit run at or after i (in the header) with another number
                    let hlen = usize::try_from(u64::from_le_bytes(b[..8].try_into().unwrap())).unwrap_or(0);
                    let end = (8 + hlen).min(b.len());
                    if let Some(s) = (i.max(8)..end).find(|&k| b[k].is_ascii_digit()) {
                        let e = (s..end).find(|&k| !b[k].is_ascii_digit()).unwrap_or(end);
                        let mut new = b[..s].to_vec();
                        new.extend_from_slice(number.to_string().as_bytes());
                        new.extend_from_slice(&b[e..]);
                        // keep the header length consistent half of the time
                        if byte.is_multiple_of(2) {
                            let h = (hlen as u64)
                                .saturating_add(new.len().saturating_sub(b.len()) as u64)
                                .saturating_sub(b.len().saturating_sub(new.len()) as u64);
                            new[..8].copy_from_slice(&h.to_le_bytes());
                        }
                        b = new;
                    }
                }
            }
        }
        check_demos_bytes(&b)?;
    }
}

thread_local! {
    static VALID: Vec<u8> = demo_set().to_bytes().unwrap();
}

proptest! {
    #![proptest_config(cases(32))]

    /// Any settings that pass the check run an expert without panic (short episodes).
    #[test]
    fn valid_settings_run(cfg in valid_config(), seed in 0u64..1000) {
        prop_assert!(cfg.check().is_ok());
        let mut e = Expert::new(cfg).unwrap();
        let r = run_episode(&mut e, seed, 3);
        prop_assert!(r.is_ok() || matches!(r, Err(PushTError::Policy(_)) | Err(PushTError::NonFiniteAction { .. })), "{:?}", r.err());
    }

    /// The expert on arbitrary observation histories (non-finite, far off the arena, empty): actions or a
    /// typed error, never a panic or an endless loop.
    #[test]
    fn expert_acts_on_any_history(history in prop::collection::vec(any_obs(), 0..3), seed in any::<u64>()) {
        let mut e = Expert::default();
        e.reset(seed);
        match e.act(&history) {
            Ok(a) => prop_assert!(!a.is_empty()),
            Err(PushTError::Policy(_) | PushTError::NonFiniteState { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    /// The environment from any start state, under any actions: steps or typed errors.
    #[test]
    fn env_steps_on_any_input(state in any_obs(), actions in prop::collection::vec(prop::array::uniform2(any_f64()), 0..8)) {
        let mut env = PushT::new();
        match env.reset_to(state) {
            Ok(_) => {}
            Err(PushTError::NonFiniteState { .. }) => return Ok(()),
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
        for a in actions {
            let a: Action = a;
            match env.step(a) {
                Ok(s) => prop_assert!((0.0..=1.0).contains(&s.reward) || s.reward.is_nan()),
                Err(PushTError::NonFiniteAction { .. } | PushTError::EpisodeOver { .. }) => {}
                Err(e) => prop_assert!(false, "unexpected error {e:?}"),
            }
        }
    }

    /// Rendering with any sizes and any frames: an image or a typed error, never a panic.
    #[test]
    fn render_on_any_sizes(
        obs in any_obs(),
        action in prop::option::of(prop::array::uniform2(any_f64())),
        n in 1usize..6,
        cols in any_usize(),
        size in prop_oneof![any_u32(), 1u32..48],
        delay in prop_oneof![any_u32(), 0u32..1000],
    ) {
        let frames = vec![(obs, action); n];
        let dir = tmp();
        let path = dir.path().join("fuzz.png");
        let small = (1..=48).contains(&size);
        // frame and GIF: only small valid sizes are drawn (larger valid ones cost time and prove nothing new)
        if small || size == 0 || size > MAX_SIDE {
            let r = frame_png(&frames[0], &path, size);
            prop_assert_eq!(r.is_ok(), small, "{:?}", r);
            let r = episode_gif(&frames, &dir.path().join("fuzz.gif"), size, delay);
            prop_assert_eq!(r.is_ok(), small && delay <= MAX_GIF_DELAY_MS, "{:?}", r);
        }
        let c = cols.min(n);
        let rows = if cols == 0 { 0 } else { n.div_ceil(c) };
        let w = c as u64 * u64::from(size);
        let h = rows as u64 * u64::from(size);
        let valid = cols > 0
            && (MIN_CELL..=MAX_SIDE).contains(&size)
            && w <= u64::from(MAX_STRIP_SIDE)
            && h <= u64::from(MAX_STRIP_SIDE)
            && w * h <= MAX_PIXELS;
        if !valid || size <= 48 {
            let r = strip_png(&frames, &path, cols, size);
            prop_assert_eq!(r.is_ok(), valid, "{:?}", r);
        }
        // draw_frame onto an in-memory area with any scale
        let mut buf = vec![0u8; 16 * 16 * 3];
        {
            use plotters::prelude::*;
            let root = BitMapBackend::with_buffer(&mut buf, (16, 16)).into_drawing_area();
            let r = draw_frame(&root, &frames[0], size);
            prop_assert_eq!(r.is_ok(), (1..=MAX_STRIP_SIDE).contains(&size), "{:?}", r);
        }
    }
}

#[test]
fn summaries_of_extreme_latencies_do_not_overflow() {
    let episode = |latency| si_pusht::Episode {
        seed: 0,
        score: 1.0,
        success: true,
        steps: 0,
        observations: vec![],
        actions: vec![],
        latency,
        displaced_at: None,
    };
    let r = si_pusht::summarise(vec![
        episode(std::time::Duration::MAX),
        episode(std::time::Duration::MAX),
    ]);
    assert!(r.mean_latency >= std::time::Duration::from_secs(u64::MAX / 2));
    let r = si_pusht::summarise(vec![
        episode(std::time::Duration::from_millis(1)),
        episode(std::time::Duration::from_millis(3)),
    ]);
    assert_eq!(r.mean_latency, std::time::Duration::from_millis(2));
    assert_eq!(
        si_pusht::summarise(vec![]).mean_latency,
        std::time::Duration::ZERO
    );
}
