//! Reading console pages and their cookies over plain HTTP.

use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};
use reqwest::redirect::Policy;

use crate::common::TestApp;

/// A client that shows redirects instead of following them and keeps no
/// cookies, so each test says exactly which cookies a request carries.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// A response read whole.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The `Set-Cookie` header that sets `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The value `Set-Cookie` gives `name`.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        self.set_cookie(name).map(|c| {
            c[name.len() + 1..]
                .split(';')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
    }

    /// The value of the first hidden `csrf` field.
    pub fn csrf_field(&self) -> String {
        let marker = r#"name="csrf" value=""#;
        let start = self.body.find(marker).expect("a form with a csrf field") + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> Page {
    let response = request.send().await.expect("the server answers");
    Page {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// GET `path` with `cookies` (`name=value; ...`, or empty).
pub async fn get(app: &TestApp, path: &str, cookies: &str) -> Page {
    let mut request = client().get(app.url(path));
    if !cookies.is_empty() {
        request = request.header(COOKIE, cookies);
    }
    send(request).await
}

/// POST a form to `path` with `cookies`.
pub async fn post(app: &TestApp, path: &str, cookies: &str, form: &[(&str, &str)]) -> Page {
    let mut request = client().post(app.url(path)).form(form);
    if !cookies.is_empty() {
        request = request.header(COOKIE, cookies);
    }
    send(request).await
}

/// A signed-in visitor: the cookie header that carries the session made by
/// signing in with `token` through the sign-in form.
pub async fn sign_in(app: &TestApp, token: &str) -> String {
    let form = get(app, "/console/sign-in", "").await;
    let csrf = form.cookie_value("installhub_csrf").unwrap();
    let signed = post(
        app,
        "/console/sign-in",
        &format!("installhub_csrf={csrf}"),
        &[("csrf", &csrf), ("token", token)],
    )
    .await;
    assert_eq!(signed.status, 303, "{signed:#?}");
    let session = signed.cookie_value("installhub_session").unwrap();
    let csrf = signed.cookie_value("installhub_csrf").unwrap();
    format!("installhub_session={session}; installhub_csrf={csrf}")
}
