//! Arbitrary bytes into `read_bundle`: it must never panic, hang or
//! allocate without bound, and whatever it accepts must hold together
//! (`installhub_fuzz::check_verified`). Run: scripts/fuzz-bundle.sh.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| installhub_fuzz::read_and_check(data));
