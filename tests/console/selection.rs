//! The catalog's selection: a checkbox per artifact, and one GET form that
//! previews or exports the ticked artifacts together as roots.

use crate::common::{SOURCE, TestApp, Token};
use crate::page::{get, sign_in};

#[tokio::test]
async fn the_catalog_sends_several_roots_to_the_preview_and_the_export() {
    let app = TestApp::new().await;
    let cookies = sign_in(&app, &Token::full().mint()).await;

    let catalog = get(&app, &format!("/console/tenants/{SOURCE}"), &cookies).await;
    assert_eq!(catalog.status, 200);
    assert!(
        catalog.body.contains(&format!(
            r#"<form method="get" action="/console/tenants/{SOURCE}/preview" id="selection">"#
        )),
        "{}",
        catalog.body
    );
    assert!(
        catalog
            .body
            .contains(r#"<input type="checkbox" name="roots" value="proc-1001">"#)
    );
    assert!(
        catalog
            .body
            .contains(&format!(r#"formaction="/console/tenants/{SOURCE}/export""#))
    );

    // What the form sends: one roots= per ticked artifact.
    let preview = get(
        &app,
        &format!("/console/tenants/{SOURCE}/preview?roots=proc-1001&roots=ent-44"),
        &cookies,
    )
    .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(
        preview.body.contains(r#"value="proc-1001 ent-44""#),
        "{}",
        preview.body
    );
    assert_eq!(
        preview.body.matches("class=\"node root").count(),
        2,
        "{}",
        preview.body
    );

    let export = get(
        &app,
        &format!("/console/tenants/{SOURCE}/export?roots=proc-1001&roots=ent-44,rule-305"),
        &cookies,
    )
    .await;
    assert_eq!(export.status, 200, "{}", export.body);
    assert!(
        export.body.contains(r#"value="proc-1001 ent-44 rule-305""#),
        "{}",
        export.body
    );

    // Nothing ticked: the preview asks for roots.
    let none = get(
        &app,
        &format!("/console/tenants/{SOURCE}/preview"),
        &cookies,
    )
    .await;
    assert_eq!(none.status, 200);
    assert!(
        none.body
            .contains("Name one or more root artifacts to preview.")
    );
}
