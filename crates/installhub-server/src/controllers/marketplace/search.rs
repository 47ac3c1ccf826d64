//! `GET /api/marketplace/packages`: search listings.

// utoipa's `IntoParams` expansion names the parameter struct by a path the
// lint calls unnecessary.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use installhub_domain::marketplace::{TrustLevel, is_category};
use installhub_domain::{Caller, ErrorCode, Failure, ListingId, PackageType};
use installhub_store::{ListingQuery, ListingVersionRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ListingSummary;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{QueryParams, page_limit, split_page};
use crate::state::AppState;

/// Longest `q`, in characters.
const MAX_QUERY_CHARS: usize = 200;
/// Longest `cursor`, in characters.
const MAX_CURSOR_CHARS: usize = 1000;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words that must all appear in the name, summary or publisher
    /// (without case); at most 200 characters.
    #[param(max_length = 200, example = "onboarding")]
    pub q: Option<String>,
    #[param(value_type = Option<PackageType>)]
    pub package_type: Option<String>,
    #[param(value_type = Option<TrustLevel>)]
    pub trust_level: Option<String>,
    /// The publisher's name, without case.
    #[param(max_length = 100)]
    pub publisher: Option<String>,
    #[param(pattern = r"^[a-z0-9][a-z0-9-]{0,31}$", example = "hr")]
    pub category: Option<String>,
    /// The next page: `nextCursor` of the previous one. Any other text is a
    /// position in name order: the listings whose lower-cased name sorts
    /// after it.
    #[param(max_length = 1000)]
    pub cursor: Option<String>,
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListingPage {
    /// Listings in name order (without case). Delisted listings are not
    /// shown.
    pub packages: Vec<ListingSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The value of a checked parameter, or its failure noted.
fn take<T>(checked: Option<Result<T, Failure>>, failures: &mut Vec<Failure>) -> Option<T> {
    match checked {
        Some(Ok(value)) => Some(value),
        Some(Err(failure)) => {
            failures.push(failure);
            None
        }
        None => None,
    }
}

fn invalid(code: ErrorCode, field: &str, message: String) -> Failure {
    Failure::new(code, message).field(field)
}

/// The cursor is the last listing's (name key, id), as base64url JSON: an
/// opaque token to clients, checked when it comes back.
fn encode_cursor(cursor: &(String, String)) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

fn decode_cursor(text: &str) -> Option<(String, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let (key, id): (String, String) = serde_json::from_slice(&bytes).ok()?;
    ListingId::parse(&id).ok()?;
    Some((key, id))
}

impl SearchParams {
    fn into_query(self) -> Result<ListingQuery, Vec<Failure>> {
        let mut failures = Vec::new();
        let limit = page_limit(self.limit, 20, 100)
            .map_err(|f| failures.push(f))
            .unwrap_or(20);
        let q = self
            .q
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty());
        if q.as_ref()
            .is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS)
        {
            failures.push(invalid(
                ErrorCode::InvalidRequestBody,
                "q",
                format!("q is longer than {MAX_QUERY_CHARS} characters."),
            ));
        }
        let package_type = self.package_type.as_deref().map(|t| {
            PackageType::parse(t).ok_or_else(|| {
                invalid(
                    ErrorCode::InvalidPackageType,
                    "packageType",
                    format!(
                        "packageType '{}' is not valid: use one of {}.",
                        installhub_domain::ids::printable(t),
                        PackageType::expected()
                    ),
                )
            })
        });
        let trust_level = self.trust_level.as_deref().map(|t| {
            TrustLevel::parse(t).ok_or_else(|| {
                invalid(
                    ErrorCode::InvalidTrustLevel,
                    "trustLevel",
                    format!(
                        "trustLevel '{}' is not valid: use one of {}.",
                        installhub_domain::ids::printable(t),
                        TrustLevel::expected()
                    ),
                )
            })
        });
        if self.publisher.as_ref().is_some_and(|p| {
            p.chars().count() > installhub_domain::marketplace::MAX_PUBLISHER_CHARS
        }) {
            failures.push(invalid(
                ErrorCode::InvalidPublisher,
                "publisher",
                format!(
                    "publisher is longer than {} characters.",
                    installhub_domain::marketplace::MAX_PUBLISHER_CHARS
                ),
            ));
        }
        if let Some(category) = self.category.as_deref()
            && !is_category(category)
        {
            failures.push(invalid(
                ErrorCode::InvalidCategories,
                "category",
                format!(
                    "category '{}' is not valid: use 1-32 lower-case letters, digits and '-'.",
                    installhub_domain::ids::printable(category)
                ),
            ));
        }
        if self
            .cursor
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_CURSOR_CHARS)
        {
            failures.push(invalid(
                ErrorCode::InvalidRequestBody,
                "cursor",
                format!("cursor is longer than {MAX_CURSOR_CHARS} characters."),
            ));
        }
        // A cursor this server gave out, or any text as a position in name
        // order (after every listing whose name key is not greater).
        let after = self.cursor.as_deref().map(|c| {
            Ok::<_, Failure>(decode_cursor(c).unwrap_or_else(|| (c.to_owned(), "~".to_owned())))
        });
        let package_type = take(package_type, &mut failures);
        let trust_level = take(trust_level, &mut failures);
        let after = take(after, &mut failures);
        if !failures.is_empty() {
            return Err(failures);
        }
        Ok(ListingQuery {
            q,
            package_type,
            trust_level,
            publisher: self
                .publisher
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty()),
            category: self.category,
            include_delisted: false,
            after,
            limit: limit + 1,
        })
    }
}

/// Search the marketplace.
///
/// Any valid token may search. Every filter given must hold; listings come
/// in name order, a page at a time.
#[utoipa::path(
    get,
    path = "/api/marketplace/packages",
    tag = "marketplace",
    params(SearchParams),
    responses(
        (status = 200, description = "One page of listings.", body = ListingPage),
        (status = 400, description = "A filter, the cursor or the limit is not valid (every problem listed).", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn search(
    State(state): State<AppState>,
    _caller: Caller,
    QueryParams(params): QueryParams<SearchParams>,
) -> ApiResult<Json<ListingPage>> {
    search_listings(&state, params).await.map(Json)
}

/// One page of listings for `params`, every filter checked first (each
/// problem listed): what `GET /api/marketplace/packages` answers, and the
/// console's marketplace search shows.
pub async fn search_listings(state: &AppState, params: SearchParams) -> ApiResult<ListingPage> {
    let query = params.into_query().map_err(ApiError::failures)?;
    let limit = query.limit - 1;
    let rows = state.store().search_listings(&query).await?;
    let (rows, next) = split_page(rows, limit, |(_, cursor)| Some(encode_cursor(cursor)));
    let ids: Vec<ListingId> = rows.iter().map(|(l, _)| l.listing_id.clone()).collect();
    let versions = state.store().versions_of_listings(&ids).await?;
    let packages = rows
        .iter()
        .map(|(listing, _)| {
            let mine: Vec<&ListingVersionRecord> = versions
                .iter()
                .filter(|v| v.listing_id == listing.listing_id)
                .collect();
            ListingSummary::new(listing, &mine)
        })
        .collect();
    Ok(ListingPage {
        packages,
        next_cursor: next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let id = ListingId::random().as_str().to_owned();
        let cursor = ("hr core".to_owned(), id.clone());
        assert_eq!(decode_cursor(&encode_cursor(&cursor)), Some(cursor));
        assert_eq!(decode_cursor("bm9wZQ"), None);
        let forged = URL_SAFE_NO_PAD.encode(br#"["a","' OR 1=1 --"]"#);
        assert_eq!(decode_cursor(&forged), None);
    }
}
