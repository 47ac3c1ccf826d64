//! Hostile shapes that would be quadratic (or explode) in a careless
//! scanner: about 200 KB each. The scan bench times them
//! (`cargo bench -p installhub-scan`, group `pathological`); the property
//! tests check that each one is scanned to a consistent report.

/// Each case, as the text of one definition field.
pub fn cases() -> Vec<String> {
    let n = 200_000;
    vec![
        "{{".repeat(n / 2),
        "${a}`".repeat(n / 5),
        "\"a\"+".repeat(n / 4),
        "://a".repeat(n / 4),
        format!(
            "[{}\"a\"].join(\"{}\")",
            "\"a\",".repeat(n / 4),
            "x".repeat(n / 2)
        ),
        "\\x65".repeat(n / 4),
        "password=".repeat(n / 9),
        " ".repeat(n) + "join",
        "atob('".repeat(n / 6),
        "String.fromCharCode(".repeat(n / 20),
    ]
}
