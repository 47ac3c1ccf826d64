//! Schemas of the OpenAPI document that no wire type carries by itself: the
//! text rules the request checks enforce, written as JSON Schema so that a
//! client (or a fuzzer) generating from the document sends what the server
//! accepts.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

/// [`crate::TenantId`]: 3-64 lower-case letters, digits and `-`.
pub const TENANT_ID: &str = r"^[a-z0-9-]{3,64}$";
/// [`crate::ArtifactId`]: a letter or digit, then up to 127 letters, digits,
/// `.`, `_` or `-`.
pub const ARTIFACT_ID: &str = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$";
/// A tag: no control characters, no surrounding white space.
pub const TAG: &str = r"^[^\s\u0000-\u001f\u007f-\u009f]([^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f])?$";

/// An artifact id in a list or a map key.
pub struct ArtifactIdText;

impl PartialSchema for ArtifactIdText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(ARTIFACT_ID))
            .examples(["proc-1001"])
            .into()
    }
}

impl ToSchema for ArtifactIdText {}

/// A package tag: 1-50 characters.
pub struct Tag;

impl PartialSchema for Tag {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(50))
            .pattern(Some(TAG))
            .examples(["hr"])
            .into()
    }
}

impl ToSchema for Tag {}

/// An artifact's `definition`: any JSON value but `null`, which a write
/// refuses as missing.
pub fn any_json_but_null() -> utoipa::openapi::schema::Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([
            Type::Object,
            Type::Array,
            Type::String,
            Type::Number,
            Type::Boolean,
        ]))
        .build()
}
