//! The evaluation protocol's disjoint seed sets, named in one place.
//!
//! | set | seeds | use |
//! |---|---|---|
//! | [`SeedSet::Training`] | `0..200000` without the test seeds | the expert's demonstrations ([`training_seeds`](crate::expert::training_seeds)) |
//! | [`SeedSet::Validation`] | `200000..200500` and `300000..300200` | every choice (λ, T_chunk, σ0, k, encoder, checkpoint, stepper) |
//! | [`SeedSet::Test`] | `100000..100050` ([`TEST_SEEDS`], Diffusion Policy's) | reported, never chosen on |
//! | [`SeedSet::Final`] | `400000..400500` (no earlier run used them) | reported, never chosen on |
//! | [`SeedSet::Final2`] | `600000..600500` (no run used them before it was opened) | reported, never chosen on |
//!
//! The second final set was opened when a choice was changed after the first final set had been
//! evaluated (the tuning criterion, decided on validation seeds): results of the changed choice are
//! reported on seeds that nothing, not even the motivation for a change, has touched.
//!
//! Both validation ranges were used to choose the encoder, its scale, T_chunk and λ: they are validation,
//! not held out. [`Seeds`] parses a command line's seeds (a set's name, a range `A..B` or a list `a,b,c`)
//! and [`SeedSet::of`] tells which set a seed belongs to, so an evaluation can say which set it ran on.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use crate::error::PushTError;
use crate::eval::TEST_SEEDS;

/// The seeds demonstrations may come from: `0..200000`, less [`TEST_SEEDS`].
pub const TRAINING_SEEDS: Range<u64> = 0..200_000;
/// The validation seeds: every choice is made on them.
pub const VALIDATION_SEEDS: [Range<u64>; 2] = [200_000..200_500, 300_000..300_200];
/// The final seeds: reported, never chosen on; a range no earlier run used.
pub const FINAL_SEEDS: Range<u64> = 400_000..400_500;
/// The second final seeds: reported, never chosen on; opened after the first final set had been seen.
pub const FINAL2_SEEDS: Range<u64> = 600_000..600_500;

/// One of the protocol's disjoint seed sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeedSet {
    /// The demonstrations' seeds.
    Training,
    /// Every choice is made on these.
    Validation,
    /// Diffusion Policy's published test seeds: reported, never chosen on.
    Test,
    /// 500 fresh seeds: reported, never chosen on.
    Final,
    /// 500 more fresh seeds, opened after [`SeedSet::Final`] had been seen: reported, never chosen on.
    Final2,
}

impl SeedSet {
    /// The sets.
    pub const ALL: [SeedSet; 5] = [
        Self::Training,
        Self::Validation,
        Self::Test,
        Self::Final,
        Self::Final2,
    ];

    /// The name on the command line: `training`, `validation`, `test`, `final` or `final-2`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Training => "training",
            Self::Validation => "validation",
            Self::Test => "test",
            Self::Final => "final",
            Self::Final2 => "final-2",
        }
    }

    /// Whether `seed` is in this set.
    pub fn contains(self, seed: u64) -> bool {
        match self {
            Self::Training => TRAINING_SEEDS.contains(&seed) && !TEST_SEEDS.contains(&seed),
            Self::Validation => VALIDATION_SEEDS.iter().any(|r| r.contains(&seed)),
            Self::Test => TEST_SEEDS.contains(&seed),
            Self::Final => FINAL_SEEDS.contains(&seed),
            Self::Final2 => FINAL2_SEEDS.contains(&seed),
        }
    }

    /// The set `seed` belongs to, if any (the sets are disjoint, so there is at most one).
    pub fn of(seed: u64) -> Option<SeedSet> {
        Self::ALL.into_iter().find(|s| s.contains(seed))
    }

    /// The seeds of the evaluation sets, in order (validation: both ranges); the training set has no fixed
    /// list (demonstrations take its seeds from the first on until enough succeed) and gives `None`.
    pub fn seeds(self) -> Option<Vec<u64>> {
        match self {
            Self::Training => None,
            Self::Validation => Some(VALIDATION_SEEDS.iter().cloned().flatten().collect()),
            Self::Test => Some(TEST_SEEDS.collect()),
            Self::Final => Some(FINAL_SEEDS.collect()),
            Self::Final2 => Some(FINAL2_SEEDS.collect()),
        }
    }

    /// Whether choices may be made on this set: only [`SeedSet::Validation`].
    pub fn may_choose_on(self) -> bool {
        self == Self::Validation
    }
}

impl fmt::Display for SeedSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SeedSet {
    type Err = PushTError;
    fn from_str(s: &str) -> Result<Self, PushTError> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s.trim())
            .ok_or_else(|| PushTError::InvalidParameter {
                name: "seed set",
                value: s.to_string(),
                reason: "must be training, validation, test, final or final-2",
            })
    }
}

/// Which sets a list of seeds falls in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The named sets the seeds fall in, each once, in the order of [`SeedSet::ALL`].
    pub sets: Vec<SeedSet>,
    /// How many seeds are in no named set.
    pub unnamed: usize,
}

impl Membership {
    /// The one set every seed belongs to, if there is one.
    pub fn single(&self) -> Option<SeedSet> {
        match self.sets.as_slice() {
            [s] if self.unnamed == 0 => Some(*s),
            _ => None,
        }
    }

    /// Whether any seed is in `set`.
    pub fn touches(&self, set: SeedSet) -> bool {
        self.sets.contains(&set)
    }
}

impl fmt::Display for Membership {
    /// `test seeds`, or e.g. `validation + test seeds, 3 in no named set`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.sets.iter().map(|s| s.name()).collect();
        match (names.is_empty(), self.unnamed) {
            (true, n) => write!(f, "{n} seeds in no named set"),
            (false, 0) => write!(f, "{} seeds", names.join(" + ")),
            (false, n) => write!(f, "{} seeds, {n} in no named set", names.join(" + ")),
        }
    }
}

/// Seeds to evaluate on, as a command line gives them: a set's name (`validation`, `test`, `final`, `final-2`), a range
/// `A..B` (B excluded) or a list `a,b,c`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seeds(Vec<u64>);

impl Seeds {
    /// The seeds, in the order given.
    pub fn as_slice(&self) -> &[u64] {
        &self.0
    }

    /// The named sets the seeds fall in, and how many fall in none.
    pub fn membership(&self) -> Membership {
        let mut sets = Vec::new();
        let mut unnamed = 0;
        for &s in &self.0 {
            match SeedSet::of(s) {
                Some(set) if !sets.contains(&set) => sets.push(set),
                Some(_) => {}
                None => unnamed += 1,
            }
        }
        sets.sort_by_key(|s| SeedSet::ALL.iter().position(|a| a == s));
        Membership { sets, unnamed }
    }
}

impl From<Seeds> for Vec<u64> {
    fn from(s: Seeds) -> Self {
        s.0
    }
}

impl FromStr for Seeds {
    type Err = PushTError;
    fn from_str(s: &str) -> Result<Self, PushTError> {
        let bad = |reason| PushTError::InvalidParameter {
            name: "seeds",
            value: s.to_string(),
            reason,
        };
        let t = s.trim();
        if t.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let set: SeedSet = t.parse()?;
            return set
                .seeds()
                .map(Seeds)
                .ok_or_else(|| bad("the training set has no fixed list of seeds"));
        }
        let num = |x: &str| {
            x.trim()
                .parse::<u64>()
                .map_err(|_| bad("must be a set's name (validation, test, final), A..B or a,b,c"))
        };
        if let Some((a, b)) = t.split_once("..") {
            let (a, b) = (num(a)?, num(b)?);
            if b <= a {
                return Err(bad("empty seed range"));
            }
            return Ok(Seeds((a..b).collect()));
        }
        let v = t.split(',').map(num).collect::<Result<Vec<_>, _>>()?;
        Ok(Seeds(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sets_hold_their_seeds() {
        assert_eq!(SeedSet::of(0), Some(SeedSet::Training));
        assert_eq!(SeedSet::of(99_999), Some(SeedSet::Training));
        assert_eq!(SeedSet::of(100_000), Some(SeedSet::Test));
        assert_eq!(SeedSet::of(100_049), Some(SeedSet::Test));
        assert_eq!(SeedSet::of(100_050), Some(SeedSet::Training));
        assert_eq!(SeedSet::of(199_999), Some(SeedSet::Training));
        assert_eq!(SeedSet::of(200_000), Some(SeedSet::Validation));
        assert_eq!(SeedSet::of(200_499), Some(SeedSet::Validation));
        assert_eq!(SeedSet::of(200_500), None);
        assert_eq!(SeedSet::of(300_000), Some(SeedSet::Validation));
        assert_eq!(SeedSet::of(300_199), Some(SeedSet::Validation));
        assert_eq!(SeedSet::of(300_200), None);
        assert_eq!(SeedSet::of(400_000), Some(SeedSet::Final));
        assert_eq!(SeedSet::of(400_499), Some(SeedSet::Final));
        assert_eq!(SeedSet::of(400_500), None);
        assert_eq!(SeedSet::of(599_999), None);
        assert_eq!(SeedSet::of(600_000), Some(SeedSet::Final2));
        assert_eq!(SeedSet::of(600_499), Some(SeedSet::Final2));
        assert_eq!(SeedSet::of(600_500), None);
        assert_eq!(SeedSet::Final2.seeds().unwrap().len(), 500);
        assert!(!SeedSet::Final2.may_choose_on());
        assert_eq!(SeedSet::Validation.seeds().unwrap().len(), 700);
        assert_eq!(SeedSet::Test.seeds().unwrap().len(), 50);
        assert_eq!(SeedSet::Final.seeds().unwrap().len(), 500);
        assert_eq!(SeedSet::Training.seeds(), None);
        assert!(SeedSet::Validation.may_choose_on());
        assert!(!SeedSet::Test.may_choose_on() && !SeedSet::Final.may_choose_on());
    }

    #[test]
    fn names_round_trip_and_parse() {
        for s in SeedSet::ALL {
            assert_eq!(s.to_string().parse::<SeedSet>().unwrap(), s);
        }
        assert!(matches!(
            "held-out".parse::<SeedSet>(),
            Err(PushTError::InvalidParameter {
                name: "seed set",
                ..
            })
        ));
        let v: Seeds = "test".parse().unwrap();
        assert_eq!(v.as_slice(), &(100_000..100_050).collect::<Vec<_>>()[..]);
        let v: Seeds = "5..8".parse().unwrap();
        assert_eq!(v.as_slice(), &[5, 6, 7]);
        let v: Seeds = "3, 1,2".parse().unwrap();
        assert_eq!(v.as_slice(), &[3, 1, 2]);
        for bad in ["5..5", "8..5", "a..b", "1,,2", "", "training", "holdout"] {
            assert!(bad.parse::<Seeds>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_range_across_two_sets_is_flagged() {
        let m = "199990..200010".parse::<Seeds>().unwrap().membership();
        assert_eq!(m.sets, vec![SeedSet::Training, SeedSet::Validation]);
        assert_eq!(m.single(), None);
        assert!(m.touches(SeedSet::Training));
        assert_eq!(m.to_string(), "training + validation seeds");
        let m = "100040..100060".parse::<Seeds>().unwrap().membership();
        assert_eq!(m.sets, vec![SeedSet::Training, SeedSet::Test]);
        let m = "test".parse::<Seeds>().unwrap().membership();
        assert_eq!(m.single(), Some(SeedSet::Test));
        assert_eq!(m.to_string(), "test seeds");
        let m = "400490..400510".parse::<Seeds>().unwrap().membership();
        assert_eq!((m.sets.clone(), m.unnamed), (vec![SeedSet::Final], 10));
        assert_eq!(m.to_string(), "final seeds, 10 in no named set");
        assert_eq!(m.single(), None);
        let m = "500000,500001".parse::<Seeds>().unwrap().membership();
        assert_eq!(m.to_string(), "2 seeds in no named set");
    }

    proptest::proptest! {
        #[test]
        fn every_seed_is_in_at_most_one_set(seed in 0u64..700_000) {
            let n = SeedSet::ALL.iter().filter(|s| s.contains(seed)).count();
            proptest::prop_assert!(n <= 1);
        }

        #[test]
        fn the_listed_seeds_are_in_their_set_only(i in 0usize..700, pick in 0usize..4) {
            let set = [SeedSet::Validation, SeedSet::Test, SeedSet::Final, SeedSet::Final2][pick];
            let seeds = set.seeds().unwrap();
            let s = seeds[i % seeds.len()];
            proptest::prop_assert_eq!(SeedSet::of(s), Some(set));
        }

        #[test]
        fn training_seeds_stay_in_the_training_set(first in 0u64..200_000, n in 1usize..200) {
            for s in crate::expert::training_seeds(first).take(n) {
                proptest::prop_assert_eq!(SeedSet::of(s), Some(SeedSet::Training));
            }
        }
    }
}
