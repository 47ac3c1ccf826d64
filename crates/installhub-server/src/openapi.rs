//! The OpenAPI 3.1 document, generated from the handlers' annotations
//! (never written by hand) and served at `/api/openapi.json`.

use utoipa::openapi::encoding::Encoding;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "InstallHub",
        description = include_str!("openapi_description.md"),
        license(name = "Apache-2.0"),
    ),
    modifiers(&BearerAuth),
    components(schemas(
        crate::error::ErrorBody,
        installhub_domain::ErrorCode,
        installhub_domain::import::ImportOptions
    )),
    tags(
        (name = "packages", description = "The Export API: preview, export, metadata, download."),
        (name = "imports", description = "The Import API: import, scan, import records, installed packages, audit log."),
        (name = "marketplace", description = "The marketplace (PublicHub): publish exported packages as signed versions of listings, search and read listings, govern trust levels, yanks, deprecations and delisting; the CDN of bundles and the JWKS of the keys that sign them (both public)."),
        (name = "notifications", description = "In-app notifications: the caller's own (a marketplace install's outcome), newest first, and marking one read."),
        (name = "tenants", description = "Host platform API: tenants."),
        (name = "artifacts", description = "Host platform API: the artifact catalog of a tenant."),
        (name = "operations", description = "Health, readiness and metrics."),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// What the route annotations cannot say, applied once the routes are merged
/// (`ApiDoc`'s modifiers run before there are any paths).
pub fn complete(openapi: &mut utoipa::openapi::OpenApi) {
    MultipartEncoding.modify(openapi);
    CommonErrors.modify(openapi);
}

/// The error answers every API route can give whatever its handler does,
/// added here so that no route can forget one: a malformed path id (400),
/// the route's timeout (408), a body too large or not of the declared type
/// (413, 415), a failure (500) and an overloaded or unreachable store (503).
/// A route that documents one of these itself keeps its own description.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/api/") {
                continue;
            }
            for operation in [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                let has_path_id =
                    operation.parameters.iter().flatten().any(|p| {
                        matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Path)
                    });
                let has_body = operation.request_body.is_some();
                let mut add = |status: &str, description: &str| {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error_response(description));
                };
                if has_path_id {
                    add("400", "A path parameter is malformed.");
                }
                add("408", "The request took longer than the route's timeout.");
                if has_body {
                    add(
                        "413",
                        "PayloadTooLarge: the body is larger than the route accepts.",
                    );
                    add(
                        "415",
                        "UnsupportedMediaType: the body is not of a declared type.",
                    );
                }
                add(
                    "500",
                    "InternalError: the server failed; nothing was half-written.",
                );
                add(
                    "503",
                    "ServiceUnavailable: the database or bundle store is unreachable or busy; retry after `Retry-After`.",
                );
            }
        }
    }
}

fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .into()
}

/// The content type of each part of the upload forms, which utoipa's
/// `request_body` cannot state: clients (and schemathesis) need it to send
/// `options` as JSON rather than as text.
struct MultipartEncoding;

impl Modify for MultipartEncoding {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let forms: [(&str, &[(&str, &str)]); 2] = [
            (
                "/api/installhub/packages/import",
                &[
                    ("package", "application/zip"),
                    ("options", "application/json"),
                ],
            ),
            (
                "/api/installhub/packages/scan",
                &[("package", "application/zip")],
            ),
        ];
        for (path, parts) in forms {
            let content = openapi
                .paths
                .paths
                .get_mut(path)
                .and_then(|item| item.post.as_mut())
                .and_then(|op| op.request_body.as_mut())
                .and_then(|body| body.content.get_mut("multipart/form-data"));
            if let Some(content) = content {
                for (part, content_type) in parts {
                    content.encoding.insert(
                        (*part).to_owned(),
                        Encoding::builder()
                            .content_type(Some(*content_type))
                            .build(),
                    );
                }
            }
        }
    }
}
