//! Encoding a definition kept as JSON text straight into a bundle file,
//! without building a [`serde_json::Value`] tree first.
//!
//! An export's definitions come from the store as the compact text
//! serde_json wrote, keys sorted. Parsing them into `Value`s and printing
//! those again was most of the CPU of encoding an export; streaming each
//! token from the parser to the pretty printer makes the same bytes, as
//! long as the text already is in the order a `Value` would print it in.
//! That is checked on the way: every object's keys must be strictly
//! increasing in byte order (a `Value` sorts keys and keeps the last of
//! duplicates) and the nesting must stay within the depth limit. When
//! either does not hold, or the text is not JSON, [`Transcoded`] fails and
//! the caller takes the `Value` path, so the bytes and every error stay
//! those of that path.
//!
//! This is `serde_transcode`'s technique (a `Serialize` that drives a
//! `Deserializer`), written out here because that crate has no place to
//! check key order or depth while it streams.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Serialize, SerializeMap, SerializeSeq, Serializer};

/// Serialises as the JSON value written in `text`, nested at most `depth`
/// levels of arrays and objects, each object's keys strictly increasing.
/// Serialising fails when the text is not such a value.
pub(crate) struct Transcoded<'t> {
    pub text: &'t str,
    pub depth: usize,
}

impl Serialize for Transcoded<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut de = serde_json::Deserializer::from_str(self.text);
        let out = Pending {
            de: RefCell::new(Some(&mut de)),
            depth: self.depth,
        }
        .serialize(serializer)?;
        de.end().map_err(ser::Error::custom)?;
        Ok(out)
    }
}

/// One value still to be read from `de`, serialised as it is read.
struct Pending<D> {
    de: RefCell<Option<D>>,
    depth: usize,
}

impl<'de, D: Deserializer<'de>> Serialize for Pending<D> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let de = self
            .de
            .borrow_mut()
            .take()
            .ok_or_else(|| ser::Error::custom("a value is serialised once"))?;
        de.deserialize_any(Copier {
            serializer,
            depth: self.depth,
        })
        .map_err(ser::Error::custom)
    }
}

/// Writes each token the parser visits to `serializer`.
struct Copier<S> {
    serializer: S,
    depth: usize,
}

fn ser_error<E: de::Error>(error: impl fmt::Display) -> E {
    E::custom(error)
}

impl<'de, S: Serializer> Visitor<'de> for Copier<S> {
    type Value = S::Ok;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<S::Ok, E> {
        self.serializer.serialize_bool(v).map_err(ser_error)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<S::Ok, E> {
        self.serializer.serialize_i64(v).map_err(ser_error)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<S::Ok, E> {
        self.serializer.serialize_u64(v).map_err(ser_error)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<S::Ok, E> {
        self.serializer.serialize_f64(v).map_err(ser_error)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<S::Ok, E> {
        self.serializer.serialize_str(v).map_err(ser_error)
    }

    fn visit_unit<E: de::Error>(self) -> Result<S::Ok, E> {
        self.serializer.serialize_unit().map_err(ser_error)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<S::Ok, A::Error> {
        let Some(inner) = self.depth.checked_sub(1) else {
            return Err(de::Error::custom("nested too deep"));
        };
        let mut out = self
            .serializer
            .serialize_seq(seq.size_hint())
            .map_err(ser_error)?;
        while seq
            .next_element_seed(Element {
                out: &mut out,
                depth: inner,
            })?
            .is_some()
        {}
        out.end().map_err(ser_error)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<S::Ok, A::Error> {
        let Some(inner) = self.depth.checked_sub(1) else {
            return Err(de::Error::custom("nested too deep"));
        };
        let mut out = self
            .serializer
            .serialize_map(map.size_hint())
            .map_err(ser_error)?;
        let mut last: Option<Cow<'de, str>> = None;
        while let Some(key) = map.next_key_seed(Key)? {
            if last.as_ref().is_some_and(|last| *last >= key) {
                return Err(de::Error::custom("keys out of order"));
            }
            out.serialize_key(&*key).map_err(ser_error)?;
            map.next_value_seed(Entry {
                out: &mut out,
                depth: inner,
            })?;
            last = Some(key);
        }
        out.end().map_err(ser_error)
    }
}

/// An array element, serialised into the array being written.
struct Element<'a, S> {
    out: &'a mut S,
    depth: usize,
}

impl<'de, S: SerializeSeq> DeserializeSeed<'de> for Element<'_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        self.out
            .serialize_element(&Pending {
                de: RefCell::new(Some(de)),
                depth: self.depth,
            })
            .map_err(de::Error::custom)
    }
}

/// An object's value, serialised into the object being written.
struct Entry<'a, S> {
    out: &'a mut S,
    depth: usize,
}

impl<'de, S: SerializeMap> DeserializeSeed<'de> for Entry<'_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        self.out
            .serialize_value(&Pending {
                de: RefCell::new(Some(de)),
                depth: self.depth,
            })
            .map_err(de::Error::custom)
    }
}

/// An object key, borrowed from the text unless it has escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_str(Key)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// Appends to `out` the pretty form (two-space indent) of the JSON value
/// written in `text`, as serde_json prints it as a value at nesting `level`,
/// provided `text` is exactly serde_json's compact form of that value:
/// no whitespace, every object's keys strictly increasing in byte order
/// and free of escapes, each string escaped and each number spelled as
/// serde_json writes them, at most `depth` levels of arrays and objects.
/// `None` otherwise (`out` then holds part of a value): the caller takes
/// the [`Transcoded`] path, which decides.
///
/// What an export stores is always such text, and this copies it byte for
/// byte between the line breaks: [`Transcoded`] hands every token from the
/// parser to the printer, which looks each byte of a string up in its
/// escape table, and that was an eighth of a 500-artifact export's CPU.
/// Written out because no crate prints JSON text in serde_json's layout
/// while checking it is in serde_json's spelling.
pub(crate) fn pretty_from_compact(
    text: &str,
    level: usize,
    depth: usize,
    out: &mut Vec<u8>,
) -> Option<()> {
    let mut printer = Printer {
        text: text.as_bytes(),
        at: 0,
        out,
        number: Vec::new(),
    };
    printer.value(level, depth)?;
    (printer.at == printer.text.len()).then_some(())
}

struct Printer<'t, 'o> {
    text: &'t [u8],
    at: usize,
    out: &'o mut Vec<u8>,
    /// Scratch space for checking a number's spelling.
    number: Vec<u8>,
}

impl<'t> Printer<'t, '_> {
    fn value(&mut self, level: usize, depth: usize) -> Option<()> {
        match *self.text.get(self.at)? {
            b'{' => self.object(level, depth.checked_sub(1)?),
            b'[' => self.array(level, depth.checked_sub(1)?),
            b'"' => self.string().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn object(&mut self, level: usize, inner: usize) -> Option<()> {
        let mut last: Option<&'t [u8]> = None;
        self.members(b'}', level, |printer| {
            let key = printer.string()?;
            // serde_json sorts keys unescaped; an escaped key's spelling
            // does not sort alike, so such text takes the other path.
            if key.contains(&b'\\') || last.is_some_and(|last| last >= key) {
                return None;
            }
            last = Some(key);
            if !printer.eat(b':') {
                return None;
            }
            printer.out.extend_from_slice(b": ");
            printer.value(level + 1, inner)
        })
    }

    fn array(&mut self, level: usize, inner: usize) -> Option<()> {
        self.members(b']', level, |printer| printer.value(level + 1, inner))
    }

    /// The array or object opening at `at`, up to its `close`: each member
    /// read and printed by `member` on a line of its own at `level + 1`,
    /// separated by commas; an empty one stays on its line.
    fn members(
        &mut self,
        close: u8,
        level: usize,
        mut member: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.out.push(self.text[self.at]);
        self.at += 1;
        if !self.eat(close) {
            loop {
                self.line(level + 1);
                member(self)?;
                if self.eat(close) {
                    break;
                }
                if !self.eat(b',') {
                    return None;
                }
                self.out.push(b',');
            }
            self.line(level);
        }
        self.out.push(close);
        Some(())
    }

    /// Copies the string at `at` if it is escaped as serde_json escapes,
    /// and answers its content as written.
    fn string(&mut self) -> Option<&'t [u8]> {
        let open = self.at;
        let mut from = open + 1;
        let close = loop {
            let at = from + memchr::memchr2(b'"', b'\\', self.text.get(from..)?)?;
            if self.text[at] == b'"' {
                break at;
            }
            from = at + 1 + canonical_escape(self.text.get(at + 1..)?)?;
        };
        let content = &self.text[open + 1..close];
        // A raw control character is not JSON; serde_json would refuse it.
        if installhub_domain::text::has_json_control_byte(content) {
            return None;
        }
        self.out.extend_from_slice(&self.text[open..=close]);
        self.at = close + 1;
        Some(content)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if !self.text[self.at..].starts_with(word) {
            return None;
        }
        self.out.extend_from_slice(word);
        self.at += word.len();
        Some(())
    }

    /// Copies the number at `at` if serde_json prints the number it reads
    /// from it with the same bytes (no `1E2`, `-0`, `1.50` or integer too
    /// large for 64 bits).
    fn number(&mut self) -> Option<()> {
        let rest = &self.text[self.at..];
        let len = rest
            .iter()
            .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .unwrap_or(rest.len());
        let spelled = &rest[..len];
        if !is_plain_integer(spelled) {
            let number: serde_json::Number = serde_json::from_slice(spelled).ok()?;
            self.number.clear();
            serde_json::to_writer(&mut self.number, &number).ok()?;
            if self.number != spelled {
                return None;
            }
        }
        self.out.extend_from_slice(spelled);
        self.at += len;
        Some(())
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.text.get(self.at) == Some(&byte);
        if found {
            self.at += 1;
        }
        found
    }

    /// A line break and the indentation of `level`.
    fn line(&mut self, level: usize) {
        const SPACES: &[u8; 256] = &[b' '; 256];
        self.out.push(b'\n');
        match SPACES.get(..2 * level) {
            Some(indent) => self.out.extend_from_slice(indent),
            None => (0..level).for_each(|_| self.out.extend_from_slice(b"  ")),
        }
    }
}

/// `0`, or an integer of at most 18 digits without a leading zero: what
/// serde_json reads as a 64-bit integer and prints back alike, known
/// without parsing it.
fn is_plain_integer(spelled: &[u8]) -> bool {
    let digits = spelled.strip_prefix(b"-").unwrap_or(spelled);
    spelled == b"0"
        || (matches!(digits, [b'1'..=b'9', rest @ ..] if rest.len() < 18 && rest.iter().all(u8::is_ascii_digit)))
}

/// The length of the escape after a backslash (`rest` starts after it) if
/// serde_json writes that escape: `\"`, `\\`, the five short control
/// escapes, or `\u00xx` (lowercase hex) for any other control character.
fn canonical_escape(rest: &[u8]) -> Option<usize> {
    match *rest.first()? {
        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => Some(1),
        b'u' => {
            let hex = rest.get(1..5)?;
            let lower = |b: &u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
            let code = u8::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()?;
            let short = matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d);
            (hex.starts_with(b"00") && hex.iter().all(lower) && code < 0x20 && !short).then_some(5)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{Transcoded, pretty_from_compact};
    use proptest::prelude::*;
    use serde_json::Value;

    fn printed(text: &str, depth: usize) -> Option<String> {
        let mut out = Vec::new();
        pretty_from_compact(text, 0, depth, &mut out)?;
        Some(String::from_utf8(out).unwrap())
    }

    fn pretty(text: &str, depth: usize) -> Option<String> {
        serde_json::to_string_pretty(&Transcoded { text, depth }).ok()
    }

    #[test]
    fn sorted_text_is_streamed_into_the_pretty_form_of_its_value() {
        let text = r#"{"a":[1,-2,3.5,{}],"b":{"c":null,"d":"\u00e9\n"},"e":[]}"#;
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            pretty(text, 3).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }

    #[test]
    fn what_a_value_would_print_otherwise_is_not_streamed() {
        for text in [
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":2}"#,
            r#"[{"a":{"z":1,"y":2}}]"#,
            r#"{"a":1} 2"#,
            r#"{"a":"#,
        ] {
            assert_eq!(pretty(text, 10), None, "{text}");
        }
    }

    #[test]
    fn compact_text_is_printed_as_its_value_would_be() {
        for text in [
            r#"{"a":[1,-2,3.5,{},[]],"b":{"c":null,"d":"é\n\"\\\u001f"},"e":[true,false]}"#,
            r#"{"":0,"A":1,"a":2,"é":3}"#,
            r#""é😀\u0000\b\f\r\t""#,
            "-0.0",
            "1e-300",
            "18446744073709551615",
            "-9223372036854775808",
            "999999999999999999",
            "-999999999999999999",
            "1000000000000000000",
            "0",
            "[]",
            "{}",
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(value.to_string(), text, "the case itself must be compact");
            assert_eq!(
                printed(text, 10).as_deref(),
                Some(serde_json::to_string_pretty(&value).unwrap().as_str()),
                "{text}"
            );
        }
    }

    #[test]
    fn text_in_another_spelling_is_left_to_the_value_path() {
        for text in [
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a\u0062":1}"#,
            r#"{"a": 1}"#,
            " 1",
            "1 ",
            r#""\u0041""#,
            r#""\/""#,
            r#""\u000A""#,
            r#""\u000a""#,
            "\"tab\there\"",
            "1E2",
            "1.50",
            "-0",
            "01",
            "18446744073709551616",
            "1e400",
            "-",
            "--1",
            "1-",
            "tru",
            "[1,]",
            "{\"a\":1",
            "",
        ] {
            assert_eq!(printed(text, 10), None, "{text}");
        }
        assert!(printed("[[{}]]", 3).is_some());
        assert_eq!(printed("[[{}]]", 2), None);
        assert_eq!(printed("[]", 0), None);
        assert!(printed("1", 0).is_some());
    }

    proptest! {
        #[test]
        fn every_compact_value_is_printed_without_the_value_path(
            // Keys without a quote or backslash to escape: those the
            // printer takes (the others go the `Value` way, tested in
            // tests/stored.rs).
            value in crate::test_json::json_value("\\PC{0,4}".prop_map(|k| k.replace(['"', '\\'], "_")))
        ) {
            let text = value.to_string();
            let level = 1;
            let mut out = Vec::new();
            prop_assert!(pretty_from_compact(&text, level, 10, &mut out).is_some(), "{}", text);
            // As serde_json prints it nested one level down.
            let nested = serde_json::to_string_pretty(&serde_json::json!({ "k": value })).unwrap();
            let inner = &nested["{\n  \"k\": ".len()..nested.len() - "\n}".len()];
            prop_assert_eq!(String::from_utf8(out).unwrap(), inner);
        }
    }

    #[test]
    fn nesting_past_the_depth_is_not_streamed() {
        assert!(pretty("[[{}]]", 3).is_some());
        assert!(pretty("[[{}]]", 2).is_none());
        assert!(pretty("[[1]]", 2).is_some());
        assert!(pretty("1", 0).is_some());
        assert!(pretty("[]", 0).is_none());
    }
}
