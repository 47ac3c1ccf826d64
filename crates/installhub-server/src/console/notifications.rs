//! The console's in-app notifications: the caller's own, newest first, read
//! through the same [`notification_page`] as `GET /api/notifications`, and
//! marked read by the same [`read_notification`] as
//! `POST /api/notifications/{notificationId}/read`. The navigation shows
//! how many are unread.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use installhub_domain::Caller;
use serde::{Deserialize, Serialize};

use super::pages::{SignedIn, SignedInForm};
use super::session::{TokenOnlyForm, Visit};
use super::views::{Chrome, api_error_page, render};
use crate::controllers::notifications::{
    NotificationListParams, NotificationResponse, notification_page, read_notification,
    unread_count,
};
use crate::extract::{NotificationPath, QueryParams};
use crate::state::AppState;

/// One notification as the page shows it.
pub struct NotificationView {
    pub id: String,
    pub kind: &'static str,
    /// An install that failed (shown as a problem).
    pub failed: bool,
    pub title: String,
    pub body: String,
    pub created_at: String,
    /// When it was first read; `None` while unread.
    pub read_at: Option<String>,
    /// The install's console page, when it is about one.
    pub install_href: Option<String>,
}

#[derive(Template)]
#[template(path = "console/notifications.html")]
pub struct NotificationsPage {
    pub chrome: Chrome,
    pub unread_only: bool,
    pub notifications: Vec<NotificationView>,
    pub next_href: Option<String>,
}

/// How many notifications a page shows.
const PER_PAGE: i64 = 25;

/// Counts the caller's unread notifications for the navigation. A failure
/// to count is logged and the count left out: the page itself still shows.
pub(super) async fn count_unread(state: &AppState, visit: &mut Visit, caller: &Caller) {
    match unread_count(state, caller).await {
        Ok(count) => visit.unread = Some(count),
        Err(error) => tracing::warn!(error = %error.message(), "counting unread notifications"),
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct NotificationsQuery {
    /// `unread` for unread ones only; anything else (or nothing) is all.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    show: String,
    /// The page cursor: the last notification id of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before: Option<String>,
}

fn view(n: NotificationResponse) -> NotificationView {
    let install_href = n
        .details
        .get("installId")
        .and_then(|v| v.as_str())
        .filter(|id| installhub_domain::marketplace::InstallId::parse(id).is_ok())
        .map(|id| format!("/console/marketplace/installs/{id}"));
    NotificationView {
        kind: n.kind.as_str(),
        failed: n.kind == installhub_domain::NotificationKind::InstallFailed,
        title: n.title,
        body: n.body,
        created_at: n.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        read_at: n
            .read_at
            .map(|at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
        install_href,
        id: n.notification_id,
    }
}

/// `GET /console/notifications?show=&before=`: the caller's notifications.
pub async fn notifications(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<NotificationsQuery>,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "notifications");
    let unread_only = query.show == "unread";
    let params = NotificationListParams {
        unread: Some(unread_only),
        before: query.before.clone().filter(|b| !b.is_empty()),
        limit: Some(PER_PAGE),
    };
    let page = match notification_page(&state, &caller, &params).await {
        Ok(page) => page,
        Err(error) => return visit.respond(api_error_page(chrome, error)),
    };
    let next_href = page.next_before.map(|before| {
        let next = NotificationsQuery {
            show: query.show.clone(),
            before: Some(before),
        };
        format!(
            "/console/notifications?{}",
            serde_urlencoded::to_string(&next).unwrap_or_default()
        )
    });
    let page = NotificationsPage {
        chrome,
        unread_only,
        notifications: page.notifications.into_iter().map(view).collect(),
        next_href,
    };
    visit.respond(render(StatusCode::OK, &page))
}

/// `POST /console/notifications/{notificationId}/read`: marks it read, as
/// the API does, and goes back to the list.
pub async fn mark_read(
    State(state): State<AppState>,
    path: NotificationPath,
    SignedInForm(mut visit, caller, _): SignedInForm<TokenOnlyForm>,
) -> Response {
    match read_notification(&state, &caller, &path.notification_id).await {
        Ok(_) => visit.respond(Redirect::to("/console/notifications")),
        Err(error) => {
            count_unread(&state, &mut visit, &caller).await;
            let chrome = visit.chrome(Some(&caller), "notifications");
            visit.respond(api_error_page(chrome, error))
        }
    }
}
