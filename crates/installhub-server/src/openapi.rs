//! The OpenAPI 3.1 document, generated from the handlers' annotations
//! (never written by hand) and served at `/api/openapi.json`.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
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
