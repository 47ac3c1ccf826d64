//! Signing in and out of the console, and its CSRF protection.
//!
//! **The session cookie is the token itself** (`installhub_session`,
//! `HttpOnly`, `SameSite=Strict`, `Path=/console`, `Secure` when the
//! request came over TLS), verified on every request by the same
//! [`Verifier`](installhub_auth::Verifier) as the API's `Authorization`
//! header. Nothing is kept on the server, so any replica behind a load
//! balancer serves any session and a restart signs nobody out; the token's
//! own expiry ends the session (with a page that says so), and its scopes
//! and tenants are exactly what the API would grant. Signing out removes
//! the cookie from the browser; like `installhub logout`, it does not
//! revoke the token, which stays valid until it expires.
//!
//! **CSRF**: double submit with `SameSite=Strict`. A random token lives in
//! the `installhub_csrf` cookie (`HttpOnly`, `SameSite=Strict`,
//! `Path=/console`) and in a hidden field of every form; every POST must
//! carry both, equal, or is answered 403. A new one is drawn when a session
//! starts and when it ends, so a token seen before signing in is worthless
//! after.
//!
//! **The demo's sign-in link**: `serve --demo` asks [`SignInLinks`] for a
//! link to its demo token; the link's secret is random, works once, and
//! only for [`SIGN_IN_LINK_TTL`]; the server keeps only its SHA-256.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use installhub_auth::AuthError;
use installhub_domain::Caller;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::views::{Chrome, MessagePage, SignInPage, render};
use crate::extract::QueryParams;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "installhub_session";
pub const CSRF_COOKIE: &str = "installhub_csrf";

/// How long a demo sign-in link works.
pub const SIGN_IN_LINK_TTL: Duration = Duration::from_secs(15 * 60);

/// The longest token kept in the session cookie: browsers keep cookies of
/// up to 4096 bytes, name and attributes included.
const MAX_TOKEN_BYTES: usize = 3800;

/// One visitor's request: the cookies, whether it came over TLS, and the
/// CSRF token (drawn now when the visitor had none).
pub struct Visit {
    jar: CookieJar,
    secure: bool,
    pub csrf: String,
    /// The signed-in caller's unread notifications, for the navigation
    /// (counted once a session is found).
    pub unread: Option<u64>,
}

impl Visit {
    pub fn new(jar: CookieJar, headers: &HeaderMap, uri: &Uri) -> Self {
        let secure = over_tls(headers, uri);
        let existing = jar
            .get(CSRF_COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|v| v.len() == 64);
        let mut visit = Self {
            jar,
            secure,
            csrf: String::new(),
            unread: None,
        };
        match existing {
            Some(csrf) => visit.csrf = csrf,
            None => visit.new_csrf(),
        }
        visit
    }

    fn cookie(&self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build((name, value))
            .path(super::PREFIX)
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure)
            .build()
    }

    fn new_csrf(&mut self) {
        self.csrf = random_hex();
        let cookie = self.cookie(CSRF_COOKIE, self.csrf.clone());
        self.jar = self.jar.clone().add(cookie);
    }

    /// Whether a form's `csrf` field matches this visitor's cookie.
    fn csrf_matches(&self, sent: Option<&str>) -> bool {
        let Some(cookie) = self.jar.get(CSRF_COOKIE) else {
            return false;
        };
        sent.is_some_and(|sent| {
            !sent.is_empty() && bool::from(sent.as_bytes().ct_eq(cookie.value().as_bytes()))
        })
    }

    fn start_session(&mut self, token: &str) {
        let cookie = self.cookie(SESSION_COOKIE, token.to_owned());
        self.jar = self.jar.clone().add(cookie);
        self.new_csrf();
    }

    fn end_session(&mut self) {
        let cookie = self.cookie(SESSION_COOKIE, String::new());
        self.jar = self.jar.clone().remove(cookie);
    }

    /// The signed-in caller, verified as the API verifies a bearer token.
    pub fn caller(&self, state: &AppState) -> Result<Caller, SessionProblem> {
        let token = self
            .jar
            .get(SESSION_COOKIE)
            .map(Cookie::value)
            .filter(|t| !t.is_empty())
            .ok_or(SessionProblem::SignedOut)?;
        state
            .verifier()
            .verify(token)
            .map_err(SessionProblem::Refused)
    }

    /// The layout's chrome for `caller` on this visit.
    pub fn chrome(&self, caller: Option<&Caller>, section: &'static str) -> Chrome {
        let mut chrome = Chrome::new(
            caller.map(|c| c.identity.clone()),
            self.csrf.clone(),
            section,
        );
        chrome.unread = caller.and(self.unread);
        chrome
    }

    /// Sends `response` with this visit's cookies.
    pub fn respond(self, response: impl IntoResponse) -> Response {
        (self.jar, response).into_response()
    }

    /// The answer when there is no usable session: to the sign-in page
    /// when there was none, else a page that says why it ended (and the
    /// cookie goes).
    pub fn session_problem(mut self, problem: SessionProblem) -> Response {
        match problem {
            SessionProblem::SignedOut => self.respond(Redirect::to("/console/sign-in")),
            SessionProblem::Refused(error) => {
                self.end_session();
                let message = match error {
                    AuthError::Expired => {
                        "Your session has expired: the token it was opened with is past its expiry time. Sign in again with a current token.".to_owned()
                    }
                    other => format!("Your session has ended: {other} Sign in again."),
                };
                let page = MessagePage::problem(self.chrome(None, ""), "Session ended", message)
                    .link("/console/sign-in", "Sign in");
                self.respond(render(StatusCode::UNAUTHORIZED, &page))
            }
        }
    }

    /// 403 for a POST without the right CSRF token.
    fn csrf_refused(self) -> Response {
        let page = MessagePage::problem(
            self.chrome(None, ""),
            "Form refused",
            "This form was not sent from a current console page (its CSRF token is missing or wrong), so nothing was done. Reload the page and try again.".to_owned(),
        )
        .link("/console", "Go to the console");
        self.respond(render(StatusCode::FORBIDDEN, &page))
    }

    fn form_problem(self, rejection: &FormRejection) -> Response {
        let status = rejection.status();
        let page = MessagePage::problem(
            self.chrome(None, ""),
            super::views::heading_for(status),
            format!("The form could not be read: {}", rejection.body_text()),
        )
        .link("/console", "Go to the console");
        self.respond(render(status, &page))
    }

    /// A form a console page sent, once it could be read and its CSRF
    /// token equals the cookie's; otherwise the page that refuses it
    /// (nothing is done).
    pub(super) fn accept<T: ConsoleForm>(
        self,
        form: Result<Form<T>, FormRejection>,
    ) -> Result<(Visit, T), Box<Response>> {
        let form = match form {
            Ok(Form(form)) => form,
            Err(rejection) => return Err(Box::new(self.form_problem(&rejection))),
        };
        if !self.csrf_matches(form.csrf()) {
            return Err(Box::new(self.csrf_refused()));
        }
        Ok((self, form))
    }

    /// The visit when `sent` (a form's CSRF token read another way, such
    /// as a multipart part) equals the cookie's; otherwise the page that
    /// refuses the form.
    pub(super) fn accept_token(self, sent: Option<&str>) -> Result<Visit, Box<Response>> {
        if self.csrf_matches(sent) {
            Ok(self)
        } else {
            Err(Box::new(self.csrf_refused()))
        }
    }
}

/// A console form: each carries the CSRF token of the page that sent it.
pub(super) trait ConsoleForm {
    fn csrf(&self) -> Option<&str>;
}

impl ConsoleForm for SignInForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

impl ConsoleForm for TokenOnlyForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// Why a request has no signed-in caller.
pub enum SessionProblem {
    /// No session cookie.
    SignedOut,
    /// The cookie's token no longer verifies (expired, or keys changed).
    Refused(AuthError),
}

/// Whether the request reached us over TLS: an `https` URI, or the
/// `X-Forwarded-Proto: https` of a TLS-terminating proxy in front (this
/// server speaks plain HTTP itself). It only decides the cookies' `Secure`
/// flag, which a forged header can only make stricter.
fn over_tls(headers: &HeaderMap, uri: &Uri) -> bool {
    uri.scheme_str() == Some("https")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// `GET /console/sign-in`.
pub async fn sign_in_page(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let visit = Visit::new(jar, &headers, &uri);
    if visit.caller(&state).is_ok() {
        return visit.respond(Redirect::to("/console/tenants"));
    }
    let page = SignInPage {
        chrome: visit.chrome(None, ""),
        problem: None,
    };
    visit.respond(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    csrf: Option<String>,
    token: Option<String>,
}

/// `POST /console/sign-in`: a pasted token.
pub async fn sign_in(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    uri: Uri,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let (mut visit, form) = match Visit::new(jar, &headers, &uri).accept(form) {
        Ok(accepted) => accepted,
        Err(response) => return *response,
    };
    let token = form.token.as_deref().unwrap_or_default().trim();
    let refused = |visit: Visit, status: StatusCode, problem: String| {
        let page = SignInPage {
            chrome: visit.chrome(None, ""),
            problem: Some(problem),
        };
        visit.respond(render(status, &page))
    };
    if token.is_empty() {
        return refused(
            visit,
            StatusCode::BAD_REQUEST,
            "Paste a token to sign in.".to_owned(),
        );
    }
    if token.len() > MAX_TOKEN_BYTES {
        return refused(
            visit,
            StatusCode::BAD_REQUEST,
            format!(
                "This token is {} bytes long; the console keeps tokens of up to {MAX_TOKEN_BYTES} bytes in its cookie. Use the API or the CLI with it.",
                token.len()
            ),
        );
    }
    match state.verifier().verify(token) {
        Ok(_) => {
            visit.start_session(token);
            visit.respond(Redirect::to("/console/tenants"))
        }
        Err(error) => refused(
            visit,
            StatusCode::UNAUTHORIZED,
            format!("That token was not accepted: {error}"),
        ),
    }
}

#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    secret: Option<String>,
}

/// `GET /console/sign-in/link?secret=...`: the demo's one-time link.
pub async fn sign_in_link(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    uri: Uri,
    QueryParams(query): QueryParams<LinkQuery>,
) -> Response {
    let mut visit = Visit::new(jar, &headers, &uri);
    let token = query
        .secret
        .as_deref()
        .and_then(|secret| state.console_links().redeem(secret));
    let Some(token) = token else {
        let page = MessagePage::problem(
            visit.chrome(None, ""),
            "Sign-in link not valid",
            format!(
                "This sign-in link was already used, has expired (links work once, for {} minutes) or is not one this server made. Sign in with a token instead, or restart installhub serve --demo for a new link.",
                SIGN_IN_LINK_TTL.as_secs() / 60
            ),
        )
        .link("/console/sign-in", "Sign in with a token");
        return visit.respond(render(StatusCode::GONE, &page));
    };
    let caller = match state.verifier().verify(&token) {
        Ok(caller) => caller,
        Err(error) => return visit.session_problem(SessionProblem::Refused(error)),
    };
    visit.start_session(&token);
    // A page that moves on by itself rather than a redirect: the browser
    // then sends the new SameSite=Strict cookie with the next request even
    // when the link was opened from another site (a mail, a chat).
    let mut page = MessagePage::problem(
        visit.chrome(Some(&caller), ""),
        "Signed in",
        format!("You are signed in as {}.", caller.identity),
    )
    .link("/console/tenants", "Continue to the catalog");
    page.tone = "done";
    page.refresh = Some("/console/tenants".to_owned());
    visit.respond(render(StatusCode::OK, &page))
}

/// A form that carries nothing but its CSRF token: sign-out, and the
/// buttons that act on what their address names (rollback, uninstall,
/// discard an upload, mark a notification read).
#[derive(Debug, Deserialize)]
pub struct TokenOnlyForm {
    csrf: Option<String>,
}

/// `POST /console/sign-out`.
pub async fn sign_out(
    jar: CookieJar,
    headers: HeaderMap,
    uri: Uri,
    form: Result<Form<TokenOnlyForm>, FormRejection>,
) -> Response {
    let (mut visit, _) = match Visit::new(jar, &headers, &uri).accept(form) {
        Ok(accepted) => accepted,
        Err(response) => return *response,
    };
    visit.end_session();
    visit.new_csrf();
    let mut page = MessagePage::problem(
        visit.chrome(None, ""),
        "Signed out",
        "You are signed out of the console. The token you signed in with stays valid until it expires."
            .to_owned(),
    )
    .link("/console/sign-in", "Sign in again");
    page.tone = "done";
    let mut response = visit.respond(render(StatusCode::OK, &page));
    // Also drop what the browser cached for this origin's console pages.
    response.headers_mut().insert(
        header::HeaderName::from_static("clear-site-data"),
        header::HeaderValue::from_static("\"cache\""),
    );
    response
}

/// The demo's one-time sign-in links: the SHA-256 of each secret, with the
/// token it signs in with and when it stops working.
#[derive(Default)]
pub struct SignInLinks {
    links: Mutex<HashMap<[u8; 32], (String, Instant)>>,
}

impl SignInLinks {
    /// A new secret for `token`, valid once within [`SIGN_IN_LINK_TTL`].
    pub fn issue(&self, token: String) -> String {
        let secret = random_hex();
        let now = Instant::now();
        let mut links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        links.retain(|_, (_, until)| *until > now);
        links.insert(digest(&secret), (token, now + SIGN_IN_LINK_TTL));
        secret
    }

    /// The token of a secret that was issued, is unused and has not
    /// expired; it is used up now.
    pub fn redeem(&self, secret: &str) -> Option<String> {
        let mut links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        let (token, until) = links.remove(&digest(secret))?;
        (until > Instant::now()).then_some(token)
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}
