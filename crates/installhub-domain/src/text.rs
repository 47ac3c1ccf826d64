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

/// Whether `bytes` hold a byte below 0x20: a character JSON must escape
/// inside a string and may not hold raw. Checked 64 bytes at a time without
/// stopping early, so it vectorises: callers run it over megabyte-long
/// definitions.
pub fn has_json_control_byte(bytes: &[u8]) -> bool {
    bytes
        .chunks(64)
        .any(|chunk| chunk.iter().fold(false, |seen, &b| seen | (b < 0x20)))
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
    fn a_json_control_byte_is_found_anywhere_in_a_long_text() {
        let mut text = vec![b'a'; 200];
        assert!(!has_json_control_byte(&text));
        assert!(!has_json_control_byte(b"\x7f \"\\ \xc3\xa9"));
        for at in [0, 63, 64, 130, 199] {
            for byte in [0x00, 0x0a, 0x1f] {
                text[at] = byte;
                assert!(has_json_control_byte(&text), "{byte:#x} at {at}");
                text[at] = b'a';
            }
        }
    }

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
