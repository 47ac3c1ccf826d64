//! RFC 6901 JSON pointers, built incrementally while walking a definition so
//! a finding's path costs nothing until there is a finding.

/// Appends `/segment` with `~` → `~0` and `/` → `~1`.
pub(crate) fn push_segment(pointer: &mut String, segment: &str) {
    pointer.push('/');
    if !segment.contains(['~', '/']) {
        pointer.push_str(segment);
        return;
    }
    for c in segment.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// Appends `/index`.
pub(crate) fn push_index(pointer: &mut String, index: usize) {
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = write!(pointer, "/{index}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_per_rfc_6901() {
        let mut p = String::new();
        push_segment(&mut p, "a/b");
        push_segment(&mut p, "m~n");
        push_index(&mut p, 3);
        push_segment(&mut p, "");
        assert_eq!(p, "/a~1b/m~0n/3/");
        let v = serde_json::json!({"a/b": {"m~n": [0, 1, 2, {"": 7}]}});
        assert_eq!(v.pointer(&p), Some(&serde_json::json!(7)));
    }
}
