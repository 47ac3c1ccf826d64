//! Undoes the usual ways of hiding a keyword from a text search
//! (SECURITY.md 22), so the detectors see what the interpreter would:
//!
//! 1. escapes inside the text: `\x65`, `\u0065`, `\u{65}`, `\145`, `&#101;`
//!    (serde_json has already decoded the JSON-level `\u0065`);
//! 2. code built from numbers: `String.fromCharCode(101,118,97,108)`,
//!    Python `chr(101)`, PowerShell `[char]101`;
//! 3. string assembly: `"ev" + "al"` (with blanks or comments around `+`),
//!    `"ev".concat("al")`, `["ev","al"].join("")`,
//!    `"lave".split("").reverse().join("")`;
//! 4. encoded payloads: `atob("..")`, `Buffer.from("..", "base64")`,
//!    `b64decode(..)`, `FromBase64String(..)`, `powershell -enc ..`
//!    (UTF-16LE), `unescape("%65..")`/`decodeURIComponent`; a decoded payload
//!    is normalized again (up to [`MAX_DEPTH`] levels).
//!
//! Comments are not stripped: a `/*` or `//` inside a string literal would
//! make stripping delete real code. The detectors' regexes accept blanks and
//! comments wherever JavaScript does (between an identifier and `(`, around
//! `.` and `+`) instead. The raw text is always scanned as well, so nothing
//! here can hide what was visible before.
//!
//! Strings assembled from pieces (steps 2 and 3) are also returned on their
//! own: a concatenation that builds `eval` or `child_process` is a finding
//! even when the result is only stored in a variable.

use std::borrow::Cow;
use std::sync::LazyLock;

use base64::Engine as _;
use regex::{Captures, Regex};

/// Levels of payload-inside-payload decoding.
pub(crate) const MAX_DEPTH: usize = 3;
/// Rounds of assembly (a join can enable a decoder and the other way round).
const MAX_ROUNDS: usize = 4;

/// Blanks and comments, as JavaScript allows them between tokens.
pub(crate) const GAP: &str = r"(?:\s|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|//[^\n]*\n)*";
/// A quoted literal on one line (or a template literal with no `${`).
const QLIT: &str = r#"(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\$]|\\.|\$[^{])*`)"#;

fn re(pattern: &str) -> Regex {
    let pattern = pattern.replace("{G}", GAP).replace("{Q}", QLIT);
    Regex::new(&pattern).expect("normalizer regexes are valid")
}

static FROM_CHAR_CODE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:String{G}\.{G})?\bfromC(?:harCode|odePoint){G}\({G}(?:\.\.\.{G}\[)?{G}((?:0[xX][0-9a-fA-F]+|[0-9]+)(?:{G},{G}(?:0[xX][0-9a-fA-F]+|[0-9]+))*){G}\]?{G}\)",
    )
});
static PY_CHR: LazyLock<Regex> =
    LazyLock::new(|| re(r"\bchr{G}\({G}(0[xX][0-9a-fA-F]+|[0-9]+){G}\)"));
static PS_CHAR: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\[char\]{G}\(?{G}(0x[0-9a-f]+|[0-9]+){G}\)?"));
static PLUS_CHAIN: LazyLock<Regex> = LazyLock::new(|| re(r"{Q}(?:{G}\+{G}{Q})+"));
static CONCAT_CHAIN: LazyLock<Regex> =
    LazyLock::new(|| re(r"{Q}(?:{G}\.{G}concat{G}\({G}{Q}(?:{G},{G}{Q})*{G}\))+"));
static ARRAY_JOIN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(\[{G}{Q}(?:{G},{G}{Q})*{G},?{G}\]){G}\.{G}join{G}\({G}({Q})?{G}\)"));
static REVERSE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"({Q}){G}\.{G}split{G}\({G}(?:""|''){G}\){G}\.{G}reverse{G}\({G}\){G}\.{G}join{G}\({G}(?:""|''){G}\)"#,
    )
});
static LITERAL: LazyLock<Regex> = LazyLock::new(|| re(r"{Q}"));
static ATOB: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"\b(?:atob|b64decode|urlsafe_b64decode|FromBase64String|base64_decode|decode64|decodeBase64){G}\({G}b?({Q})"#,
    )
});
static PS_ENCODED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:powershell|pwsh)(?:\.exe)?(?:\s+-[a-z]+(?:\s+[a-z]+)?)*?\s+-e(?:c|nc|ncodedcommand)?\s+([A-Za-z0-9+/=]{8,})",
    )
});
static BUFFER_FROM: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"\bBuffer{G}\.{G}from{G}\({G}({Q}){G},{G}["'`]base64(?:url)?["'`]{G}\)"#)
});
static PERCENT: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(?:unescape|decodeURIComponent|decodeURI){G}\({G}({Q})"));

/// What normalization produced for one text.
#[derive(Debug, Default)]
pub(crate) struct Normalized {
    /// Texts to scan besides the raw one: the normalized text (when it
    /// differs), decoded payloads and their normalized forms, and a
    /// PowerShell reading with backtick escapes removed.
    pub(crate) texts: Vec<String>,
    /// Strings assembled from several pieces or decoded from numbers.
    pub(crate) assembled: Vec<String>,
}

pub(crate) fn normalize(raw: &str) -> Normalized {
    let mut out = Normalized::default();
    normalize_into(raw, 0, &mut out);
    out
}

fn normalize_into(raw: &str, depth: usize, out: &mut Normalized) {
    let mut text: Cow<'_, str> = Cow::Borrowed(raw);
    let mut payloads = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let mut changed = false;
        if let Some(t) = decode_escapes(&text) {
            text = Cow::Owned(t);
            changed = true;
        }
        if let Some(t) = decode_char_codes(&text, &mut out.assembled) {
            text = Cow::Owned(t);
            changed = true;
        }
        if let Some(t) = join_literals(&text, &mut out.assembled) {
            text = Cow::Owned(t);
            changed = true;
        }
        if !changed {
            break;
        }
    }
    decode_payloads(&text, &mut payloads);
    if let Some(ps) = strip_powershell_backticks(&text) {
        out.texts.push(ps);
    }
    if let Cow::Owned(t) = text
        && t != raw
    {
        out.texts.push(t);
    }
    for payload in payloads {
        if depth + 1 < MAX_DEPTH {
            normalize_into(&payload, depth + 1, out);
        }
        out.texts.push(payload);
    }
}

fn hex_value(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

fn parse_hex(bytes: &[u8]) -> Option<u32> {
    bytes
        .iter()
        .try_fold(0u32, |acc, &b| Some(acc.checked_mul(16)? + hex_value(b)?))
}

/// `\xHH`, `\uHHHH` (with surrogate pairs), `\u{H..}`, `\OOO`, `&#N;`,
/// `&#xH;`. `\\` is kept as is, so `\\x65` (an escaped backslash) stays.
fn decode_escapes(text: &str) -> Option<String> {
    if !text.contains('\\') && !text.contains("&#") {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let decoded: Option<(char, usize)> = match bytes[i] {
            b'\\' => match bytes.get(i + 1) {
                Some(b'\\') => {
                    i += 2;
                    continue;
                }
                Some(b'x') => bytes
                    .get(i + 2..i + 4)
                    .and_then(parse_hex)
                    .and_then(char::from_u32)
                    .map(|c| (c, 4)),
                Some(b'u') => decode_unicode_escape(bytes, i),
                Some(b'0'..=b'3') => bytes.get(i + 1..i + 4).and_then(|d| {
                    d.iter().all(|b| (b'0'..=b'7').contains(b)).then(|| {
                        let v = d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                        (char::from_u32(v).unwrap_or('\u{fffd}'), 4)
                    })
                }),
                _ => None,
            },
            b'&' if bytes.get(i + 1) == Some(&b'#') => decode_entity(bytes, i),
            _ => None,
        };
        match decoded {
            Some((c, len)) => {
                out.push_str(&text[copied..i]);
                out.push(c);
                i += len;
                copied = i;
                changed = true;
            }
            None => i += 1,
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

fn decode_unicode_escape(bytes: &[u8], i: usize) -> Option<(char, usize)> {
    if bytes.get(i + 2) == Some(&b'{') {
        let close = bytes[i + 3..].iter().take(8).position(|&b| b == b'}')?;
        let v = parse_hex(&bytes[i + 3..i + 3 + close])?;
        return char::from_u32(v).map(|c| (c, close + 4));
    }
    let unit = parse_hex(bytes.get(i + 2..i + 6)?)?;
    if (0xD800..0xDC00).contains(&unit)
        && bytes.get(i + 6) == Some(&b'\\')
        && bytes.get(i + 7) == Some(&b'u')
        && let Some(low) = bytes.get(i + 8..i + 12).and_then(parse_hex)
        && (0xDC00..0xE000).contains(&low)
    {
        let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
        return char::from_u32(c).map(|c| (c, 12));
    }
    Some((char::from_u32(unit).unwrap_or('\u{fffd}'), 6))
}

fn decode_entity(bytes: &[u8], i: usize) -> Option<(char, usize)> {
    let (radix, start) = match bytes.get(i + 2) {
        Some(b'x' | b'X') => (16, i + 3),
        _ => (10, i + 2),
    };
    let digits = bytes[start..]
        .iter()
        .take(8)
        .take_while(|b| (**b as char).is_digit(radix))
        .count();
    if digits == 0 {
        return None;
    }
    let s = std::str::from_utf8(&bytes[start..start + digits]).ok()?;
    let c = char::from_u32(u32::from_str_radix(s, radix).ok()?)?;
    let mut end = start + digits;
    if bytes.get(end) == Some(&b';') {
        end += 1;
    }
    Some((c, end - i))
}

fn parse_number(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Quotes a decoded or assembled string as a `"..."` literal, so later
/// steps (joins, `window["eval"]`) see a literal where the code had one.
fn quoted(content: &str) -> String {
    let mut s = String::with_capacity(content.len() + 2);
    s.push('"');
    for c in content.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

fn decode_char_codes(text: &str, assembled: &mut Vec<String>) -> Option<String> {
    let mut result: Option<String> = None;
    if text.contains("fromC") {
        result = replace(&FROM_CHAR_CODE, text, |caps| {
            let decoded: String = caps[1]
                .split(',')
                .filter_map(|n| {
                    parse_number(
                        n.trim_matches(|c: char| c.is_whitespace() || c == '/' || c == '*'),
                    )
                })
                .filter_map(char::from_u32)
                .collect();
            assembled.push(decoded.clone());
            quoted(&decoded)
        });
    }
    if text.contains("chr") {
        let current = result.as_deref().unwrap_or(text);
        if let Some(t) = replace(&PY_CHR, current, |caps| {
            quoted(
                &parse_number(&caps[1])
                    .and_then(char::from_u32)
                    .map(String::from)
                    .unwrap_or_default(),
            )
        }) {
            result = Some(t);
        }
    }
    if text.contains('[') && text.to_ascii_lowercase().contains("[char]") {
        let current = result.as_deref().unwrap_or(text);
        if let Some(t) = replace(&PS_CHAR, current, |caps| {
            let n = caps[1].to_ascii_lowercase();
            quoted(
                &parse_number(&n)
                    .and_then(char::from_u32)
                    .map(String::from)
                    .unwrap_or_default(),
            )
        }) {
            result = Some(t);
        }
    }
    result
}

/// `regex.replace_all`, or `None` when nothing matched.
fn replace(
    regex: &Regex,
    text: &str,
    mut f: impl FnMut(&Captures<'_>) -> String,
) -> Option<String> {
    let mut matched = false;
    let replaced = regex.replace_all(text, |caps: &Captures<'_>| {
        matched = true;
        f(caps)
    });
    matched.then(|| replaced.into_owned())
}

/// The content of one quoted literal, with its quote escapes undone.
fn literal_content(literal: &str) -> String {
    let inner = &literal[1..literal.len() - 1];
    if !inner.contains('\\') {
        return inner.to_owned();
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e @ ('"' | '\'' | '`' | '\\')) => out.push(e),
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn literals_in(text: &str) -> Vec<String> {
    LITERAL
        .find_iter(text)
        .map(|m| literal_content(m.as_str()))
        .collect()
}

fn join_literals(text: &str, assembled: &mut Vec<String>) -> Option<String> {
    let mut result: Option<String> = None;
    if text.contains('+') {
        result = replace(&PLUS_CHAIN, text, |caps| {
            let joined = literals_in(&caps[0]).concat();
            assembled.push(joined.clone());
            quoted(&joined)
        });
    }
    if text.contains("concat") {
        let current = result.as_deref().unwrap_or(text);
        if let Some(t) = replace(&CONCAT_CHAIN, current, |caps| {
            let joined = literals_in(&caps[0]).concat();
            assembled.push(joined.clone());
            quoted(&joined)
        }) {
            result = Some(t);
        }
    }
    if text.contains("join") {
        let current = result.as_deref().unwrap_or(text);
        if let Some(t) = replace(&REVERSE, current, |caps| {
            let reversed: String = literal_content(&caps[1]).chars().rev().collect();
            assembled.push(reversed.clone());
            quoted(&reversed)
        }) {
            result = Some(t);
        }
        let current = result.as_deref().unwrap_or(text);
        if let Some(t) = replace(&ARRAY_JOIN, current, |caps| {
            let separator = caps
                .get(2)
                .map(|m| literal_content(m.as_str()))
                .unwrap_or_else(|| ",".to_owned());
            let pieces = literals_in(&caps[1]);
            let size = pieces.iter().map(String::len).sum::<usize>()
                + separator.len() * pieces.len().saturating_sub(1);
            if size > caps[0].len() {
                // A long separator could blow a small text up; the array's
                // own literals are scanned as they are.
                return caps[0].to_owned();
            }
            let joined = pieces.join(&separator);
            assembled.push(joined.clone());
            quoted(&joined)
        }) {
            result = Some(t);
        }
    }
    result
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CONFIG);
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(&s).or_else(|_| URL_SAFE.decode(&s)).ok()
}

fn utf16le(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if bytes.get(i + 1) == Some(&b'u')
                && let Some(c) = bytes
                    .get(i + 2..i + 6)
                    .and_then(parse_hex)
                    .and_then(char::from_u32)
            {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += 6;
                changed = true;
                continue;
            }
            if let Some(v) = bytes.get(i + 1..i + 3).and_then(parse_hex) {
                // Two hex digits always fit a byte.
                out.push(v as u8);
                i += 3;
                changed = true;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    changed.then(|| String::from_utf8_lossy(&out).into_owned())
}

fn decode_payloads(text: &str, payloads: &mut Vec<String>) {
    if text.contains("atob") || text.contains("64") {
        for caps in ATOB
            .captures_iter(text)
            .chain(BUFFER_FROM.captures_iter(text))
        {
            if let Some(bytes) = base64_decode(&literal_content(&caps[1])) {
                payloads.push(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("powershell") || lower.contains("pwsh") {
        for caps in PS_ENCODED.captures_iter(text) {
            if let Some(bytes) = base64_decode(&caps[1]) {
                payloads.push(utf16le(&bytes));
            }
        }
    }
    if text.contains("unescape") || text.contains("decodeURI") {
        for caps in PERCENT.captures_iter(text) {
            if let Some(decoded) = percent_decode(&literal_content(&caps[1])) {
                payloads.push(decoded);
            }
        }
    }
}

/// PowerShell ignores a backtick before an ordinary letter
/// (``I`nv`oke-Ex`pression``).
fn strip_powershell_backticks(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let has = bytes
        .windows(2)
        .any(|w| w[0] == b'`' && w[1].is_ascii_alphabetic());
    if !has {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '`' && chars.peek().is_some_and(|n| n.is_ascii_alphabetic()) {
            continue;
        }
        out.push(c);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(raw: &str) -> String {
        let n = normalize(raw);
        let mut s = n.texts.join("\n");
        s.push('\n');
        s.push_str(&n.assembled.join("\n"));
        s
    }

    #[test]
    fn decodes_escapes() {
        assert_eq!(decode_escapes(r"\x65val(1)").as_deref(), Some("eval(1)"));
        assert_eq!(decode_escapes(r"\u0065val").as_deref(), Some("eval"));
        assert_eq!(decode_escapes(r"\u{65}val").as_deref(), Some("eval"));
        assert_eq!(decode_escapes(r"\145val").as_deref(), Some("eval"));
        assert_eq!(decode_escapes("&#101;val&#x28;").as_deref(), Some("eval("));
        assert_eq!(decode_escapes(r"\uD83D\uDE00").as_deref(), Some("😀"));
        assert_eq!(decode_escapes(r"a\\x65"), None);
        assert_eq!(decode_escapes(r"line\nnext"), None);
        assert_eq!(decode_escapes(r"\u12"), None);
    }

    #[test]
    fn joins_concatenations() {
        assert!(all(r#"x = "ev" + "al""#).contains("\"eval\""));
        assert!(
            all(r#"this['ev'+'al']"#).contains("this['eval']")
                || all(r#"this['ev'+'al']"#).contains("this[\"eval\"]")
        );
        assert!(all(r#""e" /* c */ + "v" +'a'+ `l`"#).contains("eval"));
        assert!(all(r#""ev".concat("a", "l")"#).contains("\"eval\""));
        assert!(all(r#"["e","v","a","l"].join("")"#).contains("\"eval\""));
        assert!(all(r#""lave".split("").reverse().join("")"#).contains("\"eval\""));
        assert!(all(r#"String.fromCharCode(101, 118, 97, 108)"#).contains("\"eval\""));
        assert!(all(r#"chr(101)+chr(118)+chr(97)+chr(108)"#).contains("\"eval\""));
        assert!(all(r#"[char]105+[char]101+[char]120"#).contains("\"iex\""));
    }

    #[test]
    fn decodes_payloads() {
        // "eval(1)"
        assert!(all(r#"atob("ZXZhbCgxKQ==")"#).contains("eval(1)"));
        assert!(all(r#"atob("ZXZh" + "bCgxKQ")"#).contains("eval(1)"));
        assert!(all(r#"Buffer.from('ZXZhbCgxKQ==', 'base64')"#).contains("eval(1)"));
        assert!(all(r#"unescape("%65%76%61%6c(1)")"#).contains("eval(1)"));
        // "iex" in UTF-16LE
        assert!(all("powershell -NoProfile -enc aQBlAHgAIAAkAHgA").contains("iex $x"));
        // Payload inside payload: atob(atob(..)) of "eval(2)".
        let inner = base64::engine::general_purpose::STANDARD.encode("eval(2)");
        let outer = base64::engine::general_purpose::STANDARD.encode(format!("atob('{inner}')"));
        assert!(all(&format!("atob('{outer}')")).contains("eval(2)"));
    }

    #[test]
    fn strips_powershell_backticks() {
        assert_eq!(
            strip_powershell_backticks("I`nv`oke-Ex`pression").as_deref(),
            Some("Invoke-Expression")
        );
        assert_eq!(strip_powershell_backticks("`${x}`"), None);
    }

    #[test]
    fn leaves_clean_text_alone() {
        let n = normalize("const total = price * qty; // sum");
        assert!(n.texts.is_empty());
        assert!(n.assembled.is_empty());
    }
}
