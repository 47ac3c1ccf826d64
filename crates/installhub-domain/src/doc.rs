//! Schemas of the OpenAPI document that no wire type carries by itself: the
//! text rules the request checks enforce, written as JSON Schema so that a
//! client (or a fuzzer) generating from the document sends what the server
//! accepts.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

/// [`crate::TenantId`]: 3-64 lower-case letters, digits and `-`.
pub const TENANT_ID: &str = r"^[a-z0-9-]{3,64}$";
/// [`crate::ArtifactId`]: a letter or digit, then up to 127 letters, digits,
/// `.`, `_` or `-`.
pub const ARTIFACT_ID: &str = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$";
/// A tag: no control characters, no surrounding white space.
pub const TAG: &str = r"^[^\s\u0000-\u001f\u007f-\u009f]([^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f])?$";

/// A package name in a request: ASCII letters and digits, spaces and `-`,
/// with a letter or digit and no surrounding space (the server also takes
/// other Unicode letters and digits).
pub const PACKAGE_NAME: &str = r"^-*[A-Za-z0-9]([A-Za-z0-9 -]*[A-Za-z0-9-])?$";
/// A version requirement in its single-comparator form (the server takes
/// any requirement the `semver` crate parses, such as `>=1.0.0, <2.0.0`).
pub const VERSION_RANGE: &str =
    r"^(\*|([\^~=]|[<>]=?)?(0|[1-9][0-9]{0,8})(\.(0|[1-9][0-9]{0,8})(\.(0|[1-9][0-9]{0,8}))?)?)$";

/// A marketplace category: a lower-case letter or digit, then up to 31
/// lower-case letters, digits and `-`.
pub const CATEGORY: &str = r"^[a-z0-9][a-z0-9-]{0,31}$";
/// Free text that is not blank and holds no control character.
pub const TEXT: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";

/// A marketplace category.
pub struct Category;

impl PartialSchema for Category {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(CATEGORY))
            .examples(["hr"])
            .into()
    }
}

impl ToSchema for Category {}

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

/// A `packageDependencies` entry of an export request. The manifest's
/// [`crate::PackageDependency`] stays unconstrained: it also describes
/// answers, which may carry any name and requirement the server accepted.
pub struct PackageDependencyRequest;

impl PartialSchema for PackageDependencyRequest {
    fn schema() -> RefOr<Schema> {
        let name = ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(100))
            .pattern(Some(PACKAGE_NAME))
            .examples(["HR Core"]);
        let range = ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(256))
            .pattern(Some(VERSION_RANGE))
            .description(Some(
                "A Cargo-style version requirement, e.g. `^1.2` or `>=1.0.0, <2.0.0`.",
            ))
            .examples(["^1.2"]);
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A package that must already be installed in the target tenant.",
            ))
            .property("packageName", name)
            .property("versionRange", range)
            .required("packageName")
            .required("versionRange")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl ToSchema for PackageDependencyRequest {}

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

/// The operations a JSON Patch diff produces.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum PatchOp {
    Add,
    Remove,
    Replace,
}

/// One RFC 6902 JSON Patch operation of a dry run's `changes` (the wire
/// form of `json_patch::PatchOperation` as its diff makes them).
#[derive(ToSchema)]
#[schema(as = PatchOperation)]
#[expect(dead_code, reason = "describes the wire form; never built")]
pub struct PatchOperationDoc {
    op: PatchOp,
    /// Where, as an RFC 6901 JSON Pointer into `{name, version, status,
    /// definition, references, libraries}` (`~` is written `~0`, `/` `~1`).
    #[schema(example = "/definition/fields/0/label")]
    path: String,
    /// The source of a `move` or `copy`, which a diff never makes.
    #[schema(required = false)]
    from: Option<String>,
    /// The new value, for `add` and `replace`.
    #[schema(required = false, schema_with = any_json)]
    value: Option<()>,
}

/// Any JSON value, `null` included.
pub fn any_json() -> utoipa::openapi::schema::Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([
            Type::Object,
            Type::Array,
            Type::String,
            Type::Number,
            Type::Boolean,
            Type::Null,
        ]))
        .build()
}
