//! In-app notifications (SPEC §8): the caller's own, and marking one read.
//! Any valid token may call these; everyone sees only the notifications
//! addressed to their own identity (the token's email, else its sub).

// utoipa's expansion of `params(...)` qualifies the types again.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use installhub_domain::{Caller, ErrorCode, Failure, NotificationKind};
use installhub_store::NotificationRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{
    NotificationPath, QueryParams, notification_id_is_valid, notification_not_found_message,
    page_limit, split_page,
};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationResponse {
    /// `ntf-` and a UUID.
    #[schema(pattern = r"^ntf-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub notification_id: String,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    /// Where to look further (for a failed install, the import's audit
    /// entry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Machine-readable details (for a failed install, the error code and
    /// its message).
    #[schema(value_type = Object)]
    pub details: Value,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    /// When it was first read; absent while unread.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub read_at: Option<DateTime<Utc>>,
}

impl From<NotificationRecord> for NotificationResponse {
    fn from(n: NotificationRecord) -> Self {
        Self {
            notification_id: n.id,
            kind: n.kind,
            title: n.title,
            body: n.body,
            link: n.link,
            details: n.details,
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationListParams {
    /// `true`: only notifications not yet read.
    pub unread: Option<bool>,
    /// Notifications older than this one (from `nextBefore`).
    #[param(pattern = r"^ntf-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub before: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPage {
    pub notifications: Vec<NotificationResponse>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}

/// List your notifications, newest first.
///
/// Only the notifications addressed to you (your token's email, else its
/// subject) are ever listed.
#[utoipa::path(
    get,
    path = "/api/notifications",
    tag = "notifications",
    params(NotificationListParams),
    responses(
        (status = 200, description = "One page of your notifications.", body = NotificationPage),
        (status = 400, description = "Bad paging parameters.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_notifications(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<NotificationListParams>,
) -> ApiResult<Json<NotificationPage>> {
    notification_page(&state, &caller, &params).await.map(Json)
}

/// One page of the caller's notifications, newest first: what
/// `GET /api/notifications` answers and the console's notifications page
/// shows.
pub async fn notification_page(
    state: &AppState,
    caller: &Caller,
    params: &NotificationListParams,
) -> ApiResult<NotificationPage> {
    let limit = page_limit(params.limit, 50, 200)?;
    if let Some(before) = params.before.as_deref()
        && !notification_id_is_valid(before)
    {
        return Err(Failure::new(
            ErrorCode::InvalidRequestBody,
            format!(
                "before '{}' is not a notification id: pass the nextBefore of the previous page.",
                installhub_domain::ids::printable(before)
            ),
        )
        .field("before")
        .into());
    }
    let rows = state
        .store()
        .list_notifications(
            &caller.identity,
            params.unread.unwrap_or(false),
            params.before.as_deref(),
            limit + 1,
        )
        .await?;
    let (rows, next_before) = split_page(rows, limit, |n| Some(n.id.clone()));
    Ok(NotificationPage {
        notifications: rows.into_iter().map(Into::into).collect(),
        next_before,
    })
}

/// Mark one of your notifications read.
///
/// Idempotent: `readAt` stays the time of the first read.
#[utoipa::path(
    post,
    path = "/api/notifications/{notificationId}/read",
    tag = "notifications",
    params(("notificationId" = String, Path, pattern = r"^ntf-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "`ntf-` and a UUID.")),
    responses(
        (status = 200, description = "The notification, read.", body = NotificationResponse),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 404, description = "NotificationNotFound: no such notification of yours.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn mark_read(
    State(state): State<AppState>,
    caller: Caller,
    path: NotificationPath,
) -> ApiResult<Json<NotificationResponse>> {
    read_notification(&state, &caller, &path.notification_id)
        .await
        .map(Json)
}

/// Marks the caller's notification `id` read (idempotent); a malformed,
/// unknown or another user's id is one 404 `NotificationNotFound`.
pub async fn read_notification(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> ApiResult<NotificationResponse> {
    let read = if notification_id_is_valid(id) {
        state
            .store()
            .mark_notification_read(&caller.identity, id)
            .await?
    } else {
        None
    };
    match read {
        Some(n) => Ok(n.into()),
        // Malformed, unknown and another user's: one answer.
        None => Err(ApiError::not_found(Failure::new(
            ErrorCode::NotificationNotFound,
            notification_not_found_message(id),
        ))),
    }
}

/// How many of the caller's notifications are unread (the console's
/// navigation shows it).
pub async fn unread_count(state: &AppState, caller: &Caller) -> ApiResult<u64> {
    Ok(state
        .store()
        .count_unread_notifications(&caller.identity)
        .await?)
}
