//! Severity from the CVSS vectors of an OSV record's `severity[]`.
//!
//! Scoring is RustSec's `cvss` crate: CVSS v3.0/v3.1 base scores with
//! FIRST's Roundup, and CVSS v4.0 scores through FIRST's macro-vector
//! lookup tables, which are too large and too easy to get subtly wrong to
//! keep by hand. CVSS v2 vectors (`CVSS_V2`) are not scored: OSV sources
//! that still carry only v2 also carry `database_specific.severity`, and v2
//! has no Critical rating to map from.

use std::str::FromStr;

use crate::report::Severity;

/// The base score (0.0–10.0) of one `severity[]` entry: `CVSS_V3` with a
/// `CVSS:3.0/…` or `CVSS:3.1/…` vector, or `CVSS_V4` with a `CVSS:4.0/…`
/// vector. `None` for other types and for vectors that do not parse.
pub(crate) fn base_score(kind: &str, vector: &str) -> Option<f64> {
    let vector = vector.trim();
    let parsed = cvss::Cvss::from_str(vector).ok()?;
    let required = match (kind, &parsed) {
        ("CVSS_V3", cvss::Cvss::CvssV30(_) | cvss::Cvss::CvssV31(_)) => V3_BASE,
        ("CVSS_V4", cvss::Cvss::CvssV40(_)) => V4_BASE,
        _ => return None,
    };
    // The crate scores a vector with base metrics missing as if they were
    // "None" (`CVSS:3.1/AV:N/AC:L` scores 0.0); a truncated vector must not
    // turn an advisory Low.
    let present: Vec<&str> = vector
        .split('/')
        .filter_map(|part| part.split_once(':').map(|(metric, _)| metric))
        .collect();
    required
        .iter()
        .all(|metric| present.contains(metric))
        .then(|| parsed.score())
}

const V3_BASE: &[&str] = &["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
const V4_BASE: &[&str] = &[
    "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
];

/// The CVSS qualitative rating (the same bands in v3 and v4); "None" (0.0)
/// counts as Low.
pub(crate) fn rating(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else {
        Severity::Low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_scores_match_nvd() {
        // Values published by NVD for these advisories.
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0), // Log4Shell
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),  // minimist, PyYAML
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H", 7.4),  // lodash CVE-2020-8203
            ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2),  // lodash CVE-2021-23337
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),  // Newtonsoft.Json
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),  // typical reflected XSS
            ("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:L", 1.8),  // 1.7454 rounds up
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ];
        for (vector, expected) in cases {
            assert_eq!(base_score("CVSS_V3", vector), Some(expected), "{vector}");
        }
        assert_eq!(rating(10.0), Severity::Critical);
        assert_eq!(rating(7.4), Severity::High);
        assert_eq!(rating(6.1), Severity::Medium);
        assert_eq!(rating(0.0), Severity::Low);
    }

    #[test]
    fn v4_scores_match_first_calculator() {
        // Vectors from GitHub-reviewed OSV records, with the scores FIRST's
        // CVSS v4.0 calculator gives them.
        let cases = [
            // GHSA-cxjh-pqwp-8mfp (follow-redirects), published with 6.3.
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N",
                6.9,
                Severity::Medium,
            ),
            // Everything high, no subsequent system: 9.3 Critical.
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
                Severity::Critical,
            ),
            // Local, high complexity, low impact: Low.
            (
                "CVSS:4.0/AV:L/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
                1.0,
                Severity::Low,
            ),
        ];
        for (vector, score, severity) in cases {
            let got = base_score("CVSS_V4", vector);
            assert_eq!(got, Some(score), "{vector}");
            assert_eq!(rating(score), severity, "{vector}");
        }
    }

    #[test]
    fn wrong_type_or_broken_vector_is_not_scored() {
        assert_eq!(base_score("CVSS_V3", "CVSS:3.1/AV:N/AC:L"), None);
        assert_eq!(
            base_score("CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H"),
            None
        );
        assert_eq!(
            base_score(
                "CVSS_V3",
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
            ),
            None
        );
        assert_eq!(
            base_score("CVSS_V4", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            None
        );
        assert_eq!(base_score("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P"), None);
        assert_eq!(
            base_score("CVSS_V3", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            None
        );
    }
}
