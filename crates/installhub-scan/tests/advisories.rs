//! OSV matching (SECURITY.md 24) on the shipped snapshot and on synthetic
//! fixtures under tests/fixtures/osv.

mod support;

use std::path::Path;

use installhub_domain::Ecosystem::{self, CratesIo, Maven, Npm, NuGet, PyPI};
use installhub_scan::{AdvisoryDb, ScanError, Severity, Verdict};
use support::{lib, scan_libraries};

fn fixtures() -> AdvisoryDb {
    AdvisoryDb::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/osv"))
        .expect("fixtures load")
}

/// The advisory ids reported for one library, with their rule.
fn matches(
    db: &AdvisoryDb,
    ecosystem: Ecosystem,
    name: &str,
    version: &str,
) -> Vec<(String, String)> {
    scan_libraries(db, &[lib(ecosystem, name, version)])
        .security_findings
        .into_iter()
        .map(|f| (f.rule_id, f.advisory.map(|a| a.id).unwrap_or_default()))
        .collect()
}

fn affected_by(db: &AdvisoryDb, ecosystem: Ecosystem, name: &str, version: &str) -> Vec<String> {
    matches(db, ecosystem, name, version)
        .into_iter()
        .filter(|(rule, _)| rule == "vulnerable-library")
        .map(|(_, id)| id)
        .collect()
}

#[test]
fn fixture_directory_loads_recursively_and_skips_withdrawn() {
    let db = fixtures();
    // Five records in two files (one an array); the withdrawn one is dropped.
    assert_eq!(db.len(), 4);
    assert!(affected_by(&db, Npm, "withdrawn-pkg", "1.0.0").is_empty());
}

#[test]
fn semver_range_semantics() {
    let db = fixtures();
    let cases = [
        // introduced "0" .. fixed 0.5.0
        ("0.0.1", true),
        ("0.4.9", true),
        ("0.5.0", false),
        ("0.9.0", false),
        // introduced 1.0.0 .. fixed 1.2.6, in the same event list
        ("1.0.0-rc.1", false),
        ("1.0.0", true),
        ("1.2.5", true),
        ("1.2.6-beta", true),
        ("1.2.6", false),
        // introduced 2.0.0 .. last_affected 2.1.0 (inclusive)
        ("2.0.0", true),
        ("2.1.0", true),
        ("2.1.1", false),
        // introduced 3.0.0, limit 3.5.0
        ("3.0.0", true),
        ("3.4.99", true),
        ("3.5.0", false),
        ("4.0.0", false),
    ];
    for (version, affected) in cases {
        let found = affected_by(&db, Npm, "range-pkg", version);
        assert_eq!(found.len() == 1, affected, "range-pkg {version}: {found:?}");
    }
}

#[test]
fn ecosystem_versions_list_and_pypi_names() {
    let db = fixtures();
    for (name, version, affected) in [
        ("Zope.Interface", "1.0.0rc1", true),
        ("zope-interface", "1.0", true),
        ("ZOPE_INTERFACE", "1.0.0", true), // PEP 440: 1.0 == 1.0.0
        ("zope__interface", "1.0", true),
        ("zope.interface", "1.0.1", false),
        ("zopeinterface", "1.0", false),
    ] {
        let found = affected_by(&db, PyPI, name, version);
        assert_eq!(found.len() == 1, affected, "{name} {version}: {found:?}");
    }
}

#[test]
fn git_ranges_are_ignored() {
    let db = fixtures();
    assert!(matches(&db, CratesIo, "git_only", "1.0.0").is_empty());
    assert!(matches(&db, CratesIo, "git-only", "1.0.0").is_empty());
}

#[test]
fn crates_names_and_cvss_v4_severity() {
    let db = fixtures();
    let report = scan_libraries(&db, &[lib(CratesIo, "My_Crate", "0.2.0")]);
    assert_eq!(report.security_findings.len(), 1);
    // The record's only severity is a CVSS v4 vector scoring 9.3.
    assert_eq!(report.security_findings[0].severity, Severity::Critical);
    assert_eq!(report.result, Verdict::Fail);
}

#[test]
fn cvss_vector_sets_severity_when_the_database_has_none() {
    let db = fixtures();
    let report = scan_libraries(&db, &[lib(PyPI, "zope.interface", "1.0")]);
    assert_eq!(report.security_findings[0].severity, Severity::Critical);
    assert_eq!(report.result, Verdict::Fail);
}

#[test]
fn snapshot_lodash() {
    let db = AdvisoryDb::embedded();
    let mut found = affected_by(&db, Npm, "lodash", "4.17.15");
    found.sort();
    assert_eq!(found, ["GHSA-35jh-r3h4-6jhm", "GHSA-p6mc-m468-83gw"]);
    assert_eq!(
        affected_by(&db, Npm, "lodash", "4.17.20"),
        ["GHSA-35jh-r3h4-6jhm"]
    );
    assert!(affected_by(&db, Npm, "lodash", "4.17.21").is_empty());
    // CVE-2020-8203 starts at 3.7.0; CVE-2021-23337 at "0".
    assert_eq!(
        affected_by(&db, Npm, "lodash", "3.6.0"),
        ["GHSA-35jh-r3h4-6jhm"]
    );
    // npm names are case-sensitive.
    assert!(matches(&db, Npm, "Lodash", "4.17.15").is_empty());
    // Ecosystems must match: a PyPI package called lodash is another package.
    assert!(matches(&db, PyPI, "lodash", "4.17.15").is_empty());
    // last_affected is inclusive.
    assert_eq!(
        affected_by(&db, Npm, "lodash.set", "4.3.2"),
        ["GHSA-p6mc-m468-83gw"]
    );
    assert!(affected_by(&db, Npm, "lodash.set", "4.3.3").is_empty());

    let report = scan_libraries(&db, &[lib(Npm, "lodash", "4.17.20")]);
    assert_eq!(report.result, Verdict::Warn);
    let finding = &report.security_findings[0];
    assert_eq!(finding.severity, Severity::High);
    assert_eq!(finding.path, "/libraries/0");
    let advisory = finding.advisory.as_ref().unwrap();
    assert_eq!(advisory.aliases, ["CVE-2021-23337"]);
    assert_eq!(advisory.fixed_version.as_deref(), Some("4.17.21"));
    assert_eq!(
        advisory.url,
        "https://osv.dev/vulnerability/GHSA-35jh-r3h4-6jhm"
    );
    for part in [
        "GHSA-35jh-r3h4-6jhm",
        "CVE-2021-23337",
        "lodash",
        "4.17.20",
        "fixed in 4.17.21",
    ] {
        assert!(
            finding.message.contains(part),
            "{part} in {}",
            finding.message
        );
    }
}

#[test]
fn snapshot_minimist_is_critical() {
    let db = AdvisoryDb::embedded();
    for (version, affected) in [
        ("0.0.8", true),
        ("0.2.3", true),
        ("0.2.4", false),
        ("1.0.0", true),
        ("1.2.5", true),
        ("1.2.6-beta.1", true),
        ("1.2.6", false),
    ] {
        let report = scan_libraries(&db, &[lib(Npm, "minimist", version)]);
        assert_eq!(
            report.result == Verdict::Fail,
            affected,
            "minimist {version}: {report:?}"
        );
    }
    let report = scan_libraries(&db, &[lib(Npm, "minimist", "1.2.5")]);
    assert_eq!(report.security_findings[0].severity, Severity::Critical);
    assert_eq!(
        report.security_findings[0]
            .advisory
            .as_ref()
            .unwrap()
            .fixed_version
            .as_deref(),
        Some("1.2.6")
    );
}

#[test]
fn snapshot_log4shell_maven_ranges() {
    let db = AdvisoryDb::embedded();
    let name = "org.apache.logging.log4j:log4j-core";
    for (version, affected) in [
        ("2.0-alpha2", false),
        ("2.0-beta8", false),
        ("2.0-beta9", true),
        ("2.0-rc1", true),
        ("2.0", true),
        ("2.3", true),
        ("2.3.1", false),
        ("2.4", true),
        ("2.12.1", true),
        ("2.12.2", false),
        ("2.13.0", true),
        ("2.14.1", true),
        ("2.15.0", false),
        ("2.17.1", false),
    ] {
        let found = affected_by(&db, Maven, name, version);
        assert_eq!(
            found.len() == 1,
            affected,
            "log4j-core {version}: {found:?}"
        );
    }
    let report = scan_libraries(&db, &[lib(Maven, name, "2.14.1")]);
    assert_eq!(report.result, Verdict::Fail);
    assert_eq!(
        report.security_findings[0]
            .advisory
            .as_ref()
            .unwrap()
            .aliases,
        ["CVE-2021-44228"]
    );
    // Maven coordinates compare exactly; the artifact alone is another name.
    assert!(matches(&db, Maven, "log4j-core", "2.14.1").is_empty());
    // An enumerated `versions` entry.
    assert_eq!(
        affected_by(&db, Maven, "org.xbib.elasticsearch:log4j", "6.3.2.1").len(),
        1
    );
    assert!(affected_by(&db, Maven, "org.xbib.elasticsearch:log4j", "6.3.2.2").is_empty());
}

#[test]
fn snapshot_newtonsoft_and_pyyaml() {
    let db = AdvisoryDb::embedded();
    assert_eq!(
        affected_by(&db, NuGet, "newtonsoft.json", "12.0.3"),
        ["GHSA-5crp-9r3c-p9vr"]
    );
    assert_eq!(
        affected_by(&db, NuGet, "Newtonsoft.Json", "13.0.1-beta1"),
        ["GHSA-5crp-9r3c-p9vr"]
    );
    assert!(affected_by(&db, NuGet, "Newtonsoft.Json", "13.0.1").is_empty());
    let report = scan_libraries(&db, &[lib(NuGet, "Newtonsoft.Json", "12.0.3")]);
    assert_eq!(
        (report.result, report.security_findings[0].severity),
        (Verdict::Warn, Severity::High)
    );

    assert_eq!(
        affected_by(&db, PyPI, "pyyaml", "5.3.1"),
        ["GHSA-8q59-q68h-6hv4"]
    );
    assert_eq!(
        affected_by(&db, PyPI, "PyYAML", "5.4b2"),
        ["GHSA-8q59-q68h-6hv4"]
    );
    assert!(affected_by(&db, PyPI, "PyYAML", "5.4").is_empty());
    assert!(affected_by(&db, PyPI, "PyYAML", "6.0.1").is_empty());
    assert_eq!(
        scan_libraries(&db, &[lib(PyPI, "PyYAML", "5.3.1")]).result,
        Verdict::Fail
    );
}

/// A version the ecosystem cannot order is reported, not guessed: one
/// `unverifiable-library-version` warning per advisory naming the package.
#[test]
fn invalid_library_versions_are_unverifiable_not_panics() {
    let db = AdvisoryDb::embedded();
    for version in [
        "latest",
        "",
        "^4.17.0",
        "4.17.x",
        "🙂",
        "99999999999999999999999.0.0",
    ] {
        let report = scan_libraries(&db, &[lib(Npm, "lodash", version)]);
        assert_eq!(report.result, Verdict::Warn, "{version:?}");
        assert!(
            report
                .security_findings
                .iter()
                .all(|f| f.rule_id == "unverifiable-library-version"),
            "{version:?}: {report:?}"
        );
        assert_eq!(report.security_findings.len(), 2, "{version:?}");
    }
    // A package no advisory names is never unverifiable.
    assert!(
        scan_libraries(&db, &[lib(Npm, "left-pad", "latest")])
            .security_findings
            .is_empty()
    );
}

#[test]
fn load_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a-good.json"),
        include_str!("../advisories/GHSA-xvch-5gv4-984h.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("b-broken.json"), "{ \"id\": ").unwrap();
    let err = AdvisoryDb::load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, ScanError::Parse { .. }), "{err:?}");
    assert!(err.to_string().contains("b-broken.json"), "{err}");

    std::fs::write(
        dir.path().join("b-broken.json"),
        "{ \"id\": \"\", \"affected\": [] }",
    )
    .unwrap();
    let err = AdvisoryDb::load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, ScanError::InvalidAdvisory { .. }), "{err:?}");
    assert!(err.to_string().contains("b-broken.json"), "{err}");

    std::fs::write(
        dir.path().join("b-broken.json"),
        "{ \"id\": \"X-1\", \"affected\": \"nope\" }",
    )
    .unwrap();
    let err = AdvisoryDb::load_dir(dir.path()).unwrap_err();
    assert!(err.to_string().contains("b-broken.json"), "{err}");

    let err = AdvisoryDb::load_dir(&dir.path().join("missing")).unwrap_err();
    assert!(matches!(err, ScanError::Io { .. }), "{err:?}");

    std::fs::remove_file(dir.path().join("b-broken.json")).unwrap();
    assert_eq!(AdvisoryDb::load_dir(dir.path()).unwrap().len(), 1);
}

#[test]
fn empty_db_finds_nothing() {
    let db = AdvisoryDb::empty();
    assert!(db.is_empty());
    assert!(
        scan_libraries(&db, &[lib(Npm, "lodash", "1.0.0")])
            .security_findings
            .is_empty()
    );
}
