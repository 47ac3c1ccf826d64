//! Structure-aware: the input is a few control bytes and the artifact
//! files' JSON (`installhub_fuzz::encode_mutated`). The target writes them
//! as a bundle whose manifest is right for them, patches selected bytes of
//! the archive, and reads it; when every file is a well-formed artifact it
//! also round-trips them through the crate's own writer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| installhub_fuzz::mutated_and_check(data));
