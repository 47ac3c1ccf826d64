//! Arbitrary JSON values for property tests, shared by `tests/stored.rs`
//! and the crate's own unit tests (`src/transcode.rs` includes this file).

use proptest::prelude::*;
use serde_json::Value;

/// Any JSON value nested up to four levels: integers and floats across their
/// whole range, strings of any character and strings full of what JSON
/// escapes; object keys drawn from `keys`.
pub fn json_value(
    keys: impl Strategy<Value = String> + Clone + 'static,
) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::String),
        "[\\x00-\\x1f\"\\\\/ -~]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
