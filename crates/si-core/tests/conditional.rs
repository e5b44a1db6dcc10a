//! The conditional-field interface: context validation, the shared and per-point forms, the `&T` impl,
//! and classifier-free guidance, on small hand-written fields whose values are known in closed form.

use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use si_core::{
    check_context, Batch, ConditionalField, ContextForm, CoreError, Field, Guided, Points, Result,
};

/// b(t, x | c) = t (c − x), s(t, x | c) = −(x − c), ∇·b = −t d: every point is pulled towards its
/// context (k = d).
struct Pull {
    d: usize,
}

struct Toward {
    c: Points,
    form: ContextForm,
}

impl Toward {
    fn target(&self, x: &Points) -> Result<DMatrix<f64>> {
        self.form.check_points(x.len())?;
        if x.dim() != self.c.dim() {
            return Err(CoreError::ShapeMismatch {
                expected: format!("dimension {}", self.c.dim()),
                got: format!("dimension {}", x.dim()),
            });
        }
        let c = self.c.matrix();
        Ok(DMatrix::from_fn(x.dim(), x.len(), |r, i| {
            c[(r, self.form.index(i))]
        }))
    }
}

impl Field<Points> for Toward {
    fn dim(&self) -> usize {
        self.c.dim()
    }
    fn velocity(&self, t: f64, x: &Points) -> Result<Points> {
        Ok(Points::from_matrix_unchecked(
            (self.target(x)? - x.matrix()) * t,
        ))
    }
    fn score(&self, _t: f64, x: &Points) -> Result<Points> {
        Ok(Points::from_matrix_unchecked(self.target(x)? - x.matrix()))
    }
    fn divergence(&self, t: f64, x: &Points) -> Result<DVector<f64>> {
        self.target(x)?;
        Ok(DVector::from_element(x.len(), -t * x.dim() as f64))
    }
}

impl ConditionalField<Points> for Pull {
    type Given<'a> = Toward;
    fn dim(&self) -> usize {
        self.d
    }
    fn context_dim(&self) -> usize {
        self.d
    }
    fn given(&self, context: &Points) -> Result<Toward> {
        let form = check_context(context, self.context_dim())?;
        Ok(Toward {
            c: context.clone(),
            form,
        })
    }
}

/// A conditional field that accepts only a shared context and borrows itself into the field.
struct SharedOnly {
    scale: f64,
}

struct Scaled<'a> {
    owner: &'a SharedOnly,
    c: f64,
}

impl Field<Points> for Scaled<'_> {
    fn dim(&self) -> usize {
        1
    }
    fn velocity(&self, _t: f64, x: &Points) -> Result<Points> {
        Ok(Points::from_matrix_unchecked(
            x.matrix().map(|v| self.owner.scale * (self.c - v)),
        ))
    }
}

impl ConditionalField<Points> for SharedOnly {
    type Given<'a> = Scaled<'a>;
    fn dim(&self) -> usize {
        1
    }
    fn context_dim(&self) -> usize {
        1
    }
    fn given<'a>(&'a self, context: &Points) -> Result<Scaled<'a>> {
        check_context(context, 1)?.require_shared()?;
        Ok(Scaled {
            owner: self,
            c: context.as_slice()[0],
        })
    }
}

fn pts(n: usize, d: usize, v: &[f64]) -> Points {
    Points::from_row_major(n, d, v).unwrap()
}

#[test]
fn shared_and_per_point_contexts() {
    let pull = Pull { d: 2 };
    let x = pts(3, 2, &[0.0, 0.0, 1.0, 1.0, -2.0, 4.0]);
    let shared = pull.given(&pts(1, 2, &[1.0, -1.0])).unwrap();
    assert_eq!(shared.form, ContextForm::Shared);
    assert_eq!(
        shared.velocity(0.5, &x).unwrap().to_row_major(),
        vec![0.5, -0.5, 0.0, -1.0, 1.5, -2.5]
    );
    let each = pull
        .given(&pts(3, 2, &[1.0, 1.0, 1.0, 1.0, 0.0, 0.0]))
        .unwrap();
    assert_eq!(each.form, ContextForm::PerPoint(3));
    assert_eq!(
        each.score(0.5, &x).unwrap().to_row_major(),
        vec![1.0, 1.0, 0.0, 0.0, 2.0, -4.0]
    );
    // a per-point context needs a state of exactly as many points
    assert!(matches!(
        each.velocity(0.5, &pts(2, 2, &[0.0; 4])),
        Err(CoreError::ShapeMismatch { .. })
    ));
    // a shared context works for any number of points
    assert_eq!(shared.velocity(0.5, &Points::zeros(7, 2)).unwrap().len(), 7);
}

#[test]
fn wrong_dimension_or_empty_context_is_a_shape_mismatch() {
    let pull = Pull { d: 2 };
    for bad in [
        pts(1, 3, &[0.0; 3]),
        pts(2, 1, &[0.0; 2]),
        Points::zeros(0, 2),
    ] {
        assert!(matches!(
            pull.given(&bad),
            Err(CoreError::ShapeMismatch { .. })
        ));
    }
}

#[test]
fn context_form_helpers() {
    assert_eq!(ContextForm::Shared.index(5), 0);
    assert_eq!(ContextForm::PerPoint(9).index(5), 5);
    assert!(ContextForm::Shared.check_points(0).is_ok());
    assert!(ContextForm::Shared.check_points(100).is_ok());
    assert!(ContextForm::PerPoint(4).check_points(4).is_ok());
    assert!(ContextForm::PerPoint(4).check_points(3).is_err());
    assert!(ContextForm::Shared.require_shared().is_ok());
    assert!(matches!(
        ContextForm::PerPoint(2).require_shared(),
        Err(CoreError::Unsupported { .. })
    ));
}

#[test]
fn shared_only_fields_reject_per_point_contexts_and_borrow_through_references() {
    let f = SharedOnly { scale: 2.0 };
    let x = pts(2, 1, &[0.0, 1.0]);
    let one = pts(1, 1, &[3.0]);
    assert_eq!(
        f.given(&one)
            .unwrap()
            .velocity(0.0, &x)
            .unwrap()
            .to_row_major(),
        vec![6.0, 4.0]
    );
    assert!(matches!(
        f.given(&pts(2, 1, &[1.0, 2.0])),
        Err(CoreError::Unsupported { .. })
    ));
    // the blanket impl for &T, used generically
    fn first_velocity<C: ConditionalField<Points>>(c: C, ctx: &Points) -> f64 {
        assert_eq!(c.dim(), 1);
        assert_eq!(c.context_dim(), 1);
        let x = pts(1, 1, &[0.0]);
        c.given(ctx).unwrap().velocity(0.0, &x).unwrap().as_slice()[0]
    }
    let r = &f;
    assert_eq!(first_velocity(r, &one), 6.0);
    let rr: &&SharedOnly = &r;
    assert_eq!(first_velocity(rr, &one), 6.0);
    assert_eq!(first_velocity(&Pull { d: 1 }, &one), 0.0);
}

#[test]
fn guidance_is_linear_in_the_two_fields() {
    let pull = Pull { d: 1 };
    let x = pts(3, 1, &[-1.0, 0.5, 2.0]);
    let cond = pull.given(&pts(1, 1, &[2.0])).unwrap();
    let uncond = pull.given(&pts(1, 1, &[0.0])).unwrap();
    let w = 1.5;
    let g = Guided::new(&cond, &uncond, w).unwrap();
    assert_eq!(g.weight(), w);
    assert_eq!(Field::<Points>::dim(&g), 1);
    let t = 0.4;
    // (1 + w) t (2 − x) − w t (0 − x) = t (2 (1 + w) − x)
    let expected_b: Vec<f64> = [-1.0, 0.5, 2.0]
        .iter()
        .map(|x| t * (2.0 * (1.0 + w) - x))
        .collect();
    let (b, s) = g.velocity_and_score(t, &x).unwrap();
    for (got, e) in b.as_slice().iter().zip(&expected_b) {
        assert!((got - e).abs() < 1e-12, "{got} vs {e}");
    }
    for (got, e) in s.as_slice().iter().zip(&expected_b) {
        assert!((got - e / t).abs() < 1e-12, "{got} vs {}", e / t);
    }
    // ∇·b = (1 + w)(−t) − w(−t) = −t
    let (_, div) = g.velocity_and_divergence(t, &x).unwrap();
    assert!(div.iter().all(|v| (v + t).abs() < 1e-12));
    // quantities neither field provides stay unsupported
    assert!(matches!(
        g.denoiser(t, &x),
        Err(CoreError::Unsupported { .. })
    ));
    // w = 0 is the conditioned field
    let g0 = Guided::new(&cond, &uncond, 0.0).unwrap();
    assert_eq!(g0.velocity(t, &x).unwrap(), cond.velocity(t, &x).unwrap());
    // bad weights and mismatched dimensions are typed errors
    for w in [f64::NAN, f64::INFINITY] {
        assert!(matches!(
            Guided::new(&cond, &uncond, w),
            Err(CoreError::InvalidParameter { .. })
        ));
    }
    let two = Pull { d: 2 };
    let other = two.given(&pts(1, 2, &[0.0, 0.0])).unwrap();
    assert!(matches!(
        Guided::new(&cond, &other, 1.0),
        Err(CoreError::ShapeMismatch { .. })
    ));
}

proptest! {
    /// check_context never panics and classifies every (n, k) batch: a dimension other than k or no
    /// point is a shape mismatch, one point is shared, more are per point.
    #[test]
    fn check_context_classifies_every_shape(n in 0usize..6, d in 0usize..6, k in 0usize..6, v in -1e3f64..1e3) {
        let context = Points::from_matrix_unchecked(DMatrix::from_element(d, n, v));
        match check_context(&context, k) {
            Ok(ContextForm::Shared) => prop_assert!(d == k && n == 1),
            Ok(ContextForm::PerPoint(m)) => prop_assert!(d == k && n > 1 && m == n),
            Err(CoreError::ShapeMismatch { .. }) => prop_assert!(d != k || n == 0),
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
    }
}

mod averaged {
    use si_core::{check_context, Averaged, Batch, ConditionalField, CoreError, Field, Points};

    /// b(t, x | c) = a (c − x) + t, s = −a x, η = c, v = 2 b: affine in every input, so the average of
    /// members with scales a_m is the member with the mean scale (and the same offsets).
    struct Affine {
        a: f64,
        d: usize,
    }

    struct AffineGiven {
        a: f64,
        c: Points,
    }

    impl Field<Points> for AffineGiven {
        fn dim(&self) -> usize {
            self.c.dim()
        }
        fn velocity(&self, t: f64, x: &Points) -> Result<Points, CoreError> {
            let mut b = x.clone();
            for i in 0..x.len() {
                for k in 0..x.dim() {
                    b.matrix_mut()[(k, i)] =
                        self.a * (self.c.matrix()[(k, 0)] - x.matrix()[(k, i)]) + t;
                }
            }
            Ok(b)
        }
        fn score(&self, _t: f64, x: &Points) -> Result<Points, CoreError> {
            let mut s = x.clone();
            s.scale(-self.a)?;
            Ok(s)
        }
        fn denoiser(&self, _t: f64, x: &Points) -> Result<Points, CoreError> {
            let mut e = x.clone();
            for i in 0..x.len() {
                for k in 0..x.dim() {
                    e.matrix_mut()[(k, i)] = self.c.matrix()[(k, 0)];
                }
            }
            Ok(e)
        }
        fn v(&self, t: f64, x: &Points) -> Result<Points, CoreError> {
            let mut b = self.velocity(t, x)?;
            b.scale(2.0)?;
            Ok(b)
        }
    }

    impl ConditionalField<Points> for Affine {
        type Given<'a> = AffineGiven;
        fn dim(&self) -> usize {
            self.d
        }
        fn context_dim(&self) -> usize {
            self.d
        }
        fn given(&self, c: &Points) -> Result<AffineGiven, CoreError> {
            check_context(c, self.d)?.require_shared()?;
            Ok(AffineGiven {
                a: self.a,
                c: c.clone(),
            })
        }
    }

    #[test]
    fn the_average_of_affine_members_is_the_member_of_the_mean_scale() {
        let avg = Averaged::new(vec![
            Affine { a: 1.0, d: 2 },
            Affine { a: 2.0, d: 2 },
            Affine { a: 6.0, d: 2 },
        ])
        .unwrap();
        assert_eq!(
            (avg.dim(), avg.context_dim(), avg.members().len()),
            (2, 2, 3)
        );
        let c = Points::from_row_major(1, 2, &[0.5, -1.0]).unwrap();
        let x = Points::from_row_major(3, 2, &[1.0, 2.0, -3.0, 0.25, 0.0, 0.0]).unwrap();
        let want = Affine { a: 3.0, d: 2 }.given(&c).unwrap();
        let got = avg.given(&c).unwrap();
        assert_eq!(got.dim(), 2);
        let close = |a: Points, b: Points| {
            a.as_slice()
                .iter()
                .zip(b.as_slice())
                .all(|(u, v)| (u - v).abs() < 1e-12)
        };
        assert!(close(
            got.velocity(0.3, &x).unwrap(),
            want.velocity(0.3, &x).unwrap()
        ));
        assert!(close(
            got.score(0.3, &x).unwrap(),
            want.score(0.3, &x).unwrap()
        ));
        assert!(close(
            got.denoiser(0.3, &x).unwrap(),
            want.denoiser(0.3, &x).unwrap()
        ));
        assert!(close(got.v(0.3, &x).unwrap(), want.v(0.3, &x).unwrap()));
        // one member is itself, bit for bit
        let one = Averaged::new(vec![Affine { a: 1.5, d: 2 }]).unwrap();
        let solo = Affine { a: 1.5, d: 2 }.given(&c).unwrap();
        assert_eq!(
            one.given(&c).unwrap().velocity(0.7, &x).unwrap().as_slice(),
            solo.velocity(0.7, &x).unwrap().as_slice()
        );
        // the members' errors come through: a per-point context is refused by every member
        let each = Points::from_row_major(3, 2, &[0.0; 6]).unwrap();
        assert!(avg.given(&each).is_err());
    }

    #[test]
    fn members_must_agree_and_exist() {
        assert!(Averaged::<Affine>::new::<Points>(vec![]).is_err());
        assert!(Averaged::new(vec![Affine { a: 1.0, d: 2 }, Affine { a: 1.0, d: 3 }]).is_err());
    }
}
