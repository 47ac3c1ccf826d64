//! The one rule for the characters of every free-text field (names,
//! descriptions, authors, tags, identities): none may hold a character that
//! makes the text show as something else in a terminal, a log or a page.

/// The first character of `text` no text field may hold, if any: a control
/// character (NUL, ESC, CR, LF, tab, ...), a Unicode line or paragraph
/// separator, or a bidirectional formatting character (U+202E and its kin:
/// "Trojan Source", CVE-2021-42574).
pub fn forbidden_char(text: &str) -> Option<char> {
    text.chars()
        .find(|&c| c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}'))
}

/// Unicode's `Bidi_Control` property: these twelve code points, fixed by the
/// standard, so a table here costs less than a dependency.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// The sentence a refusal uses: "<field> contains U+202E, a control or
/// bidirectional formatting character."
pub fn forbidden_char_message(field: &str, c: char) -> String {
    format!(
        "{field} contains U+{:04X}, a control or bidirectional formatting character.",
        u32::from(c)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_line_and_bidi_characters_are_forbidden() {
        for bad in [
            "a\0b",
            "a\u{1b}[31m",
            "a\r\nb",
            "a\nb",
            "a\tb",
            "a\u{7f}",
            "a\u{85}",
            "a\u{2028}",
            "a\u{202E}txt.exe",
            "a\u{2066}",
            "a\u{200F}",
            "a\u{061C}",
        ] {
            assert!(forbidden_char(bad).is_some(), "{bad:?}");
        }
        for good in [
            "HR Automation Team",
            "Intégration RH",
            "日本語",
            "a-b_c.d",
            "",
        ] {
            assert_eq!(forbidden_char(good), None, "{good:?}");
        }
    }

    #[test]
    fn messages_name_the_code_point() {
        assert_eq!(
            forbidden_char_message("author", '\u{202E}'),
            "author contains U+202E, a control or bidirectional formatting character."
        );
    }
}
