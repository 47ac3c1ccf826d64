//! Liveness, readiness and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::advisories::{self, AdvisoryStatus};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    /// `ready` or `unavailable`.
    pub status: &'static str,
    /// `ok`, or what failed.
    pub database: String,
    pub bundle_store: String,
    /// The advisory snapshot scans use now, and the last refresh. Not a
    /// readiness condition: a failed refresh keeps the previous snapshot.
    pub advisories: AdvisoryStatus,
    /// This server's marketplace install workers.
    pub install_workers: InstallWorkers,
    /// Notification e-mails still to be sent (neither sent nor given up),
    /// when `--smtp-url` is set. Not a readiness condition: a down mail
    /// server never stops the service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emails_pending: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallWorkers {
    /// Workers this server runs.
    pub workers: usize,
    /// Installs they are running now.
    pub running: usize,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The database and the bundle store answer; also names the advisory
/// snapshot in use.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve.", body = Readiness),
        (status = 503, description = "A dependency is down.", body = Readiness),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = match state.store().ping().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database check failed");
            "unreachable".to_owned()
        }
    };
    let bundle_store = match state.bundles().head("readyz-probe").await {
        Ok(_) => "ok".to_owned(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: bundle store check failed");
            "unreachable".to_owned()
        }
    };
    let emails_pending = if state.config().notifications.smtp.is_some() && database == "ok" {
        state.store().pending_email_count().await.ok()
    } else {
        None
    };
    let ready = database == "ok" && bundle_store == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            status: if ready { "ready" } else { "unavailable" },
            database,
            bundle_store,
            advisories: advisories::status(&state),
            install_workers: InstallWorkers {
                workers: state.config().publichub.install_workers,
                running: state.installs().running(),
            },
            emails_pending,
        }),
    )
}

/// Prometheus metrics: request counts and latency by route and status,
/// exports, downloads, rate-limit refusals, marketplace installs by status
/// and stage (`installhub_marketplace_installs`, counted at each scrape),
/// their durations and attempts.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format.", content_type = "text/plain", body = String))
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    match state.store().install_counts().await {
        Ok(counts) => {
            for status in installhub_domain::marketplace::InstallStatus::ALL {
                for stage in installhub_domain::marketplace::InstallStage::ALL {
                    let n = counts
                        .iter()
                        .find(|(s, g, _)| s == status && g == stage)
                        .map_or(0, |(_, _, n)| *n);
                    metrics::gauge!("installhub_marketplace_installs", "status" => status.as_str(), "stage" => stage.as_str())
                        .set(n as f64);
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: counting marketplace installs failed"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(),
    )
}
