//! Faults to inject into install transactions, for tests only: a test can
//! make an install fail half-way, or slow it down enough to kill the real
//! server process in the middle of its transaction.
//!
//! They exist only with the `failpoints` cargo feature, which the test
//! builds turn on (as a dev-dependency feature) and a release build or
//! `cargo install` never does: without it [`Failpoints`] is an empty type
//! whose hooks do nothing, so the shipped binary has no way to set them.

#[cfg(feature = "failpoints")]
mod enabled {
    use std::time::Duration;

    use crate::error::{Result, StoreError};

    /// All off by default; a test sets them in the server's configuration,
    /// or for a server process in `INSTALLHUB_TEST_FAILPOINTS`.
    #[derive(Debug, Clone, Default)]
    pub struct Failpoints {
        /// An install's `write_artifacts` fails with
        /// [`StoreError::Failpoint`] once this many artifacts have been
        /// written in the transaction.
        pub fail_install_after_artifacts: Option<usize>,
        /// An install's `write_artifacts` sleeps this long after each
        /// artifact (and then writes them one by one).
        pub install_artifact_delay: Option<Duration>,
    }

    /// `fail_install_after_artifacts=N,install_artifact_delay_ms=M`.
    impl std::str::FromStr for Failpoints {
        type Err = String;

        fn from_str(value: &str) -> std::result::Result<Self, String> {
            let mut failpoints = Failpoints::default();
            for pair in value.split(',').filter(|p| !p.trim().is_empty()) {
                let (key, number) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("'{pair}' is not key=value"))?;
                let number: u64 = number
                    .trim()
                    .parse()
                    .map_err(|e| format!("'{pair}': {e}"))?;
                match key.trim() {
                    "fail_install_after_artifacts" => {
                        failpoints.fail_install_after_artifacts =
                            Some(usize::try_from(number).map_err(|e| e.to_string())?);
                    }
                    "install_artifact_delay_ms" => {
                        failpoints.install_artifact_delay = Some(Duration::from_millis(number));
                    }
                    other => return Err(format!("unknown failpoint '{other}'")),
                }
            }
            Ok(failpoints)
        }
    }

    impl Failpoints {
        /// The failpoints named in `INSTALLHUB_TEST_FAILPOINTS`; none when
        /// it is unset. A value that does not parse stops the process: a
        /// test that asked for a fault must not run without it.
        pub fn from_env() -> Failpoints {
            match std::env::var("INSTALLHUB_TEST_FAILPOINTS") {
                Ok(value) => value
                    .parse()
                    .unwrap_or_else(|e| panic!("INSTALLHUB_TEST_FAILPOINTS: {e}")),
                Err(_) => Failpoints::default(),
            }
        }

        /// How many artifacts to write in the next statement, of `take`
        /// planned, after `written` so far: fails once the limit is met.
        pub(crate) fn next_batch(&self, written: usize, take: usize) -> Result<usize> {
            let take = if self.install_artifact_delay.is_some() {
                1
            } else {
                take
            };
            match self.fail_install_after_artifacts {
                Some(limit) => {
                    Self::check(written, limit)?;
                    Ok(take.min(limit - written))
                }
                None => Ok(take),
            }
        }

        pub(crate) async fn after_batch(&self) {
            if let Some(delay) = self.install_artifact_delay {
                tokio::time::sleep(delay).await;
            }
        }

        pub(crate) fn after_all(&self, written: usize) -> Result<()> {
            match self.fail_install_after_artifacts {
                Some(limit) => Self::check(written, limit),
                None => Ok(()),
            }
        }

        fn check(written: usize, limit: usize) -> Result<()> {
            if written >= limit {
                return Err(StoreError::Failpoint(format!(
                    "install stopped after {written} artifacts"
                )));
            }
            Ok(())
        }
    }
}

#[cfg(not(feature = "failpoints"))]
mod disabled {
    use crate::error::Result;

    /// No failpoints in this build: nothing to set, every hook a no-op.
    #[derive(Debug, Clone, Default)]
    pub struct Failpoints {
        _none: (),
    }

    impl Failpoints {
        #[inline]
        pub(crate) fn next_batch(&self, _written: usize, take: usize) -> Result<usize> {
            Ok(take)
        }

        #[inline]
        pub(crate) async fn after_batch(&self) {}

        #[inline]
        pub(crate) fn after_all(&self, _written: usize) -> Result<()> {
            Ok(())
        }
    }
}

#[cfg(not(feature = "failpoints"))]
pub use disabled::Failpoints;
#[cfg(feature = "failpoints")]
pub use enabled::Failpoints;
