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

#[cfg(test)]
mod tests {
    use super::Transcoded;

    fn pretty(text: &str, depth: usize) -> Option<String> {
        serde_json::to_string_pretty(&Transcoded { text, depth }).ok()
    }

    #[test]
    fn sorted_text_is_streamed_into_the_pretty_form_of_its_value() {
        let text = r#"{"a":[1,-2,3.5,{}],"b":{"c":null,"d":"\u00e9\n"},"e":[]}"#;
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
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
    fn nesting_past_the_depth_is_not_streamed() {
        assert!(pretty("[[{}]]", 3).is_some());
        assert!(pretty("[[{}]]", 2).is_none());
        assert!(pretty("[[1]]", 2).is_some());
        assert!(pretty("1", 0).is_some());
        assert!(pretty("[]", 0).is_none());
    }
}
