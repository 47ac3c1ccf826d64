//! The console's static files, compiled into the binary. Each is served
//! under a name that carries a hash of its content, so a browser may keep
//! it for a year: a new build with a changed file links a new name.

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    /// `console.<hash>.css`.
    name: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// The hashed names the templates link.
#[derive(Debug)]
pub struct AssetNames {
    pub css: String,
    pub js: String,
    /// The import wizard's upload progress.
    pub import_js: String,
    /// The install page's script that follows an install's events.
    pub progress_js: String,
}

static ASSETS: LazyLock<[Asset; 4]> = LazyLock::new(|| {
    [
        asset(
            "console",
            "css",
            "text/css; charset=utf-8",
            include_bytes!("../../assets/console/console.css"),
        ),
        asset(
            "htmx-2.0.11.min",
            "js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/console/htmx.min.js"),
        ),
        asset(
            "import",
            "js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/console/import.js"),
        ),
        asset(
            "install-progress",
            "js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/console/install-progress.js"),
        ),
    ]
});

static NAMES: LazyLock<AssetNames> = LazyLock::new(|| AssetNames {
    css: format!("/console/assets/{}", ASSETS[0].name),
    js: format!("/console/assets/{}", ASSETS[1].name),
    import_js: format!("/console/assets/{}", ASSETS[2].name),
    progress_js: format!("/console/assets/{}", ASSETS[3].name),
});

fn asset(stem: &str, ext: &str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
    let hash = hex::encode(&Sha256::digest(bytes)[..6]);
    Asset {
        name: format!("{stem}.{hash}.{ext}"),
        content_type,
        bytes,
    }
}

pub fn names() -> &'static AssetNames {
    &NAMES
}

/// `GET /console/assets/{file}`.
pub async fn serve(uri: Uri) -> Response {
    let file = uri.path().rsplit('/').next().unwrap_or_default();
    match ASSETS.iter().find(|a| a.name == file) {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            asset.bytes,
        )
            .into_response(),
        // finish_response turns this into the console's 404 page.
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
