//! The image classifier: it learns a separable task, its features are per image and seeded, bad input is a
//! typed error.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Points};
use si_nn::classifier::FEATURES;
use si_nn::{Classifier, ClassifierTraining};
use tch::Device;

/// `n` 1 × 6 × 6 images: class 0 bright in its left half, class 1 in its right half, with N(0, 0.5²) noise.
fn halves(n: usize, seed: u64) -> (Points, Vec<usize>) {
    let noise = Points::standard_normal(n, 36, &mut ChaCha8Rng::seed_from_u64(seed));
    let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let mut v = Vec::with_capacity(n * 36);
    for (i, &l) in labels.iter().enumerate() {
        for k in 0..36 {
            let bright = (k % 6 < 3) == (l == 0);
            v.push(f64::from(u8::from(bright)) + 0.5 * noise.point(i)[k]);
        }
    }
    (Points::from_row_major(n, 36, &v).unwrap(), labels)
}

fn training(seed: u64) -> ClassifierTraining {
    ClassifierTraining {
        steps: 120,
        batch: 32,
        lr: 3e-3,
        seed,
    }
}

#[test]
fn it_learns_a_separable_task_and_generalises() {
    let (x, y) = halves(200, 1);
    let mut c = Classifier::new(1, 6, 6, 2, Device::Cpu, 0).unwrap();
    let (xt, yt) = halves(400, 2);
    let losses = c.fit(&x, &y, training(3), &mut |b, _| b).unwrap();
    assert_eq!(losses.len(), 120);
    assert!(
        losses[119] < 0.5 * losses[0],
        "{} -> {}",
        losses[0],
        losses[119]
    );
    // on fresh images the halves differ by 3 noise standard deviations per pixel over 18 pixels: a working
    // classifier is all but perfect; 0.95 leaves room and fails for a classifier at chance (0.5)
    assert!(c.accuracy(&xt, &yt).unwrap() > 0.95);
}

#[test]
fn features_are_per_image_and_seeded() {
    let (x, y) = halves(40, 4);
    let mut a = Classifier::new(1, 6, 6, 2, Device::Cpu, 5).unwrap();
    let mut b = Classifier::new(1, 6, 6, 2, Device::Cpu, 5).unwrap();
    a.fit(&x, &y, training(6), &mut |b, _| b).unwrap();
    b.fit(&x, &y, training(6), &mut |b, _| b).unwrap();
    let (fa, fb) = (a.features(&x).unwrap(), b.features(&x).unwrap());
    assert_eq!((fa.len(), fa.dim()), (40, FEATURES));
    assert_eq!(fa.as_slice(), fb.as_slice());
    // one image alone has the features it has in the batch
    let one = a.features(&x.select(&[7]).unwrap()).unwrap();
    for (u, v) in one.as_slice().iter().zip(fa.point(7).iter()) {
        assert!((u - v).abs() < 1e-5);
    }
    let other = Classifier::new(1, 6, 6, 2, Device::Cpu, 6).unwrap();
    assert_ne!(
        other.features(&x).unwrap().as_slice(),
        a.features(&x).unwrap().as_slice()
    );
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(Classifier::new(1, 6, 6, 1, Device::Cpu, 0).is_err());
    assert!(Classifier::new(0, 6, 6, 2, Device::Cpu, 0).is_err());
    let mut c = Classifier::new(1, 6, 6, 2, Device::Cpu, 0).unwrap();
    let (x, y) = halves(10, 1);
    let wrong = Points::zeros(10, 35);
    assert!(c.features(&wrong).is_err());
    assert!(c.accuracy(&x, &y[1..]).is_err());
    assert!(c.accuracy(&x, &[2; 10]).is_err());
    let mut t = training(0);
    t.steps = 0;
    assert!(c.fit(&x, &y, t, &mut |b, _| b).is_err());
}
