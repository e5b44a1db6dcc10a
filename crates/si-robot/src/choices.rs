//! The command-line choices of the policy (its kind, stepper, readout, context and tuning criterion): each
//! an enum with a fixed name per variant, written once by [`named_choices!`].

/// Gives an enum of command-line choices `ALL` (every variant, in the order given), `name()` (the name on
/// the command line), `Display` (the name) and `FromStr` (the variant of that name; any other string is a
/// [`RobotError::InvalidParameter`](crate::RobotError::InvalidParameter) naming `$param` and `$must`).
macro_rules! named_choices {
    ($ty:ident, $param:literal, $must:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every choice, in the order sweeps and the command line's help list them.
            pub const ALL: [$ty; [$($name),+].len()] = [$($ty::$variant),+];

            /// The name on the command line.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::RobotError;
            fn from_str(s: &str) -> Result<Self, $crate::RobotError> {
                $ty::ALL
                    .into_iter()
                    .find(|c| c.name() == s)
                    .ok_or_else(|| $crate::RobotError::InvalidParameter {
                        name: $param,
                        value: s.to_string(),
                        reason: $must,
                    })
            }
        }
    };
}

pub(crate) use named_choices;

#[cfg(test)]
mod tests {
    use crate::{ContextMode, Criterion, PolicyKind, Readout, RobotError, StepperChoice};

    /// Every name parses back to its variant, prints as itself and differs from the others; anything else
    /// is refused with the parameter's name.
    fn round_trip<T>(all: &[T], names: &[&str], param: &str)
    where
        T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display,
        T: std::str::FromStr<Err = RobotError>,
    {
        assert_eq!(all.len(), names.len());
        for (c, name) in all.iter().zip(names) {
            assert_eq!(name.parse::<T>().unwrap(), *c);
            assert_eq!(c.to_string(), *name);
        }
        for bad in ["", "State ", "nope"] {
            match bad.parse::<T>() {
                Err(RobotError::InvalidParameter { name, value, .. }) => {
                    assert_eq!((name, value.as_str()), (param, bad));
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn every_choice_has_its_name_and_nothing_else_parses() {
        round_trip(&Readout::ALL, &["state", "mean"], "readout");
        round_trip(
            &ContextMode::ALL,
            &["anchor", "live", "live-block"],
            "context",
        );
        round_trip(&Criterion::ALL, &["score", "success"], "criterion");
        round_trip(
            &PolicyKind::ALL,
            &["streaming", "streaming-sde", "chunked"],
            "kind",
        );
        round_trip(&StepperChoice::ALL, &["exponential", "euler"], "stepper");
    }
}
