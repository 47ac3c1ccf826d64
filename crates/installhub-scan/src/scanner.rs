//! The entry point: walks each artifact's definition (every string value
//! and every object key, with its JSON pointer) and checks its libraries
//! against the advisory database.
//!
//! The walk uses an explicit stack, so a deeply nested definition costs heap,
//! not call stack. The path is kept as a stack of segments; the JSON pointer
//! text is built only for a finding, so a clean string costs no copying.

use std::sync::{Arc, PoisonError, RwLock};

use installhub_domain::Library;
use serde_json::Value;

use crate::advisory::{self, AdvisoryDb};
use crate::code;
use crate::detect::{self, Context, Detectors, Hits};
use crate::pointer::{push_index, push_segment};
use crate::prefilter::Prefilter;
use crate::report::{Finding, ScanReport};
use crate::rules::RuleId;

/// One artifact to scan.
#[derive(Debug, Clone, Copy)]
pub struct ScanInput<'a> {
    pub artifact_id: &'a str,
    pub definition: &'a Value,
    pub libraries: &'a [Library],
}

/// Compiled rules plus an advisory database. Build once, share freely
/// (`Send + Sync`); scanning takes `&self`.
///
/// The database can be replaced while scans run
/// ([`Scanner::replace_advisories`], for a server's scheduled refresh): a
/// scan takes the current one once, so it checks every library against one
/// snapshot and names that snapshot in its report.
pub struct Scanner {
    prefilter: Prefilter,
    detectors: Detectors,
    /// Held only to clone or swap the `Arc`, never during a scan.
    advisories: RwLock<Arc<AdvisoryDb>>,
    /// Tests only: run every detector on every string, to check that the
    /// prefilter never changes a finding.
    bypass_prefilter: bool,
    /// Threads one scan may use.
    max_threads: usize,
}

/// A scan of fewer artifacts than this per thread stays on one thread:
/// starting a thread costs more than scanning a small artifact.
const MIN_INPUTS_PER_THREAD: usize = 4;

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("advisories", self.advisories().snapshot())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy)]
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

struct Frame<'a> {
    value: &'a Value,
    /// Segments of the parent's path.
    depth: usize,
    segment: Option<Segment<'a>>,
    field: Option<&'a str>,
}

fn pointer(path: &[Segment<'_>], last: Option<Segment<'_>>) -> String {
    let mut p = String::new();
    for segment in path.iter().chain(&last) {
        match segment {
            Segment::Key(k) => push_segment(&mut p, k),
            Segment::Index(i) => push_index(&mut p, *i),
        }
    }
    p
}

impl Scanner {
    pub fn new(advisories: AdvisoryDb) -> Scanner {
        Scanner {
            prefilter: Prefilter::new(),
            detectors: Detectors::new(),
            advisories: RwLock::new(Arc::new(advisories)),
            bypass_prefilter: false,
            max_threads: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }

    /// The current advisory database. Scans that must agree on one
    /// snapshot (the artifacts of one package, scanned one at a time) take
    /// it once and use [`Scanner::scan_with`].
    pub fn advisories(&self) -> Arc<AdvisoryDb> {
        Arc::clone(
            &self
                .advisories
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Makes `advisories` the database of every scan that starts from now
    /// on; scans already running finish with the one they took. Answers
    /// the replaced database.
    pub fn replace_advisories(&self, advisories: AdvisoryDb) -> Arc<AdvisoryDb> {
        let mut current = self
            .advisories
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *current, Arc::new(advisories))
    }

    /// Scans every input and answers the verdict with sorted findings,
    /// against the current advisory database.
    pub fn scan<'a>(&self, inputs: impl IntoIterator<Item = ScanInput<'a>>) -> ScanReport {
        self.scan_with(&self.advisories(), inputs)
    }

    /// [`Scanner::scan`] against the given advisory database.
    pub fn scan_with<'a>(
        &self,
        advisories: &AdvisoryDb,
        inputs: impl IntoIterator<Item = ScanInput<'a>>,
    ) -> ScanReport {
        let inputs: Vec<ScanInput<'a>> = inputs.into_iter().collect();
        let workers = self
            .max_threads
            .min(inputs.len() / MIN_INPUTS_PER_THREAD)
            .max(1);
        let scan_one = |input: &ScanInput<'_>, findings: &mut Vec<Finding>| {
            self.scan_definition(input.artifact_id, input.definition, findings);
            Self::scan_libraries(advisories, input.artifact_id, input.libraries, findings);
        };
        let findings = if workers == 1 {
            let mut findings = Vec::new();
            for input in &inputs {
                scan_one(input, &mut findings);
            }
            findings
        } else {
            // Artifacts are scanned on every core: parsing scripts is the
            // costly part of a scan. Workers take the next artifact from a
            // shared counter, so one large artifact does not hold up the
            // rest; the findings are sorted afterwards, so the answer does
            // not depend on which worker scanned what.
            let next = std::sync::atomic::AtomicUsize::new(0);
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..workers)
                    .map(|_| {
                        scope.spawn(|| {
                            let mut findings = Vec::new();
                            loop {
                                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                let Some(input) = inputs.get(i) else {
                                    break findings;
                                };
                                scan_one(input, &mut findings);
                            }
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|handle| match handle.join() {
                        Ok(findings) => findings,
                        Err(panic) => std::panic::resume_unwind(panic),
                    })
                    .collect()
            })
        };
        let mut report = ScanReport::from_findings(findings);
        report.advisory_snapshot = Some(advisories.snapshot().clone());
        report
    }

    /// How many threads one scan may use: one per core unless capped.
    pub fn max_threads(&self) -> usize {
        self.max_threads
    }

    /// At most `threads` threads per scan (at least one); the default is
    /// one per core, read once here (it reads cgroup files on Linux).
    pub fn with_max_threads(mut self, threads: usize) -> Scanner {
        self.max_threads = threads.max(1);
        self
    }

    fn scan_string(&self, text: &str, mut ctx: Context<'_>, hits: &mut Hits) {
        // One pass over the bytes answers both which detectors the string
        // needs and whether it could hold code.
        let signals = if self.bypass_prefilter {
            crate::prefilter::Signals {
                needs: crate::prefilter::NEEDS_ALL,
                code_bytes: crate::prefilter::has_code_byte(text.as_bytes()),
                python_names: true,
            }
        } else {
            self.prefilter.signals(text)
        };
        // No rule looks at a string shorter than a placeholder or a call.
        ctx.executable = text.len() >= 3 && ctx.field.is_some_and(detect::is_executable_field);
        if code::looks_like_code(text, ctx.executable, signals.code_bytes) {
            let mut found = code::Findings::default();
            ctx.parsed = code::analyze(text, ctx.executable, signals.python_names, &mut found);
            hits.push_code(found.list);
        }
        self.detect(text, signals.needs, ctx, hits);
    }

    fn detect(&self, text: &str, needs: u8, ctx: Context<'_>, hits: &mut Hits) {
        if needs != 0 {
            self.detectors.scan(text, needs, ctx, hits);
        }
    }

    fn flush(artifact_id: &str, pointer: String, hits: &mut Hits, findings: &mut Vec<Finding>) {
        for hit in hits.list.drain(..) {
            findings.push(Finding {
                rule_id: hit.rule.id().to_owned(),
                severity: hit.rule.rule().severity,
                artifact_id: artifact_id.to_owned(),
                path: pointer.clone(),
                message: hit.message,
                capability: hit.capability,
                snippet: hit.snippet,
                advisory: None,
            });
        }
        hits.clear();
    }

    fn scan_definition(&self, artifact_id: &str, definition: &Value, findings: &mut Vec<Finding>) {
        let mut hits = Hits::default();
        if let Value::String(s) = definition {
            self.scan_string(s, Context::default(), &mut hits);
            Self::flush(artifact_id, String::new(), &mut hits, findings);
            return;
        }
        // Strings are scanned where they are met, in document order (the
        // order serde_json allocated them in, which the memory prefetcher
        // likes); only containers go on the stack.
        let mut path: Vec<Segment<'_>> = Vec::new();
        let mut children: Vec<Frame<'_>> = Vec::new();
        let mut stack = vec![Frame {
            value: definition,
            depth: 0,
            segment: None,
            field: None,
        }];
        while let Some(frame) = stack.pop() {
            path.truncate(frame.depth);
            if let Some(segment) = frame.segment {
                path.push(segment);
            }
            let depth = path.len();
            match frame.value {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        match item {
                            Value::String(s) => {
                                self.scan_string(
                                    s,
                                    Context {
                                        field: frame.field,
                                        executable: false,
                                        parsed: false,
                                    },
                                    &mut hits,
                                );
                                if !hits.list.is_empty() {
                                    let at = pointer(&path, Some(Segment::Index(i)));
                                    Self::flush(artifact_id, at, &mut hits, findings);
                                }
                            }
                            Value::Array(_) | Value::Object(_) => children.push(Frame {
                                value: item,
                                depth,
                                segment: Some(Segment::Index(i)),
                                field: frame.field,
                            }),
                            Value::Null | Value::Bool(_) | Value::Number(_) => {}
                        }
                    }
                }
                Value::Object(map) => {
                    for (key, value) in map {
                        self.check_member(key, value, &mut hits);
                        match value {
                            Value::String(s) => {
                                self.scan_string(
                                    s,
                                    Context {
                                        field: Some(key),
                                        executable: false,
                                        parsed: false,
                                    },
                                    &mut hits,
                                );
                            }
                            Value::Array(_) | Value::Object(_) => children.push(Frame {
                                value,
                                depth,
                                segment: Some(Segment::Key(key)),
                                field: Some(key),
                            }),
                            Value::Null | Value::Bool(_) | Value::Number(_) => {}
                        }
                        if !hits.list.is_empty() {
                            let at = pointer(&path, Some(Segment::Key(key)));
                            Self::flush(artifact_id, at, &mut hits, findings);
                        }
                    }
                }
                Value::String(_) | Value::Null | Value::Bool(_) | Value::Number(_) => {}
            }
            stack.extend(children.drain(..).rev());
        }
    }

    /// Checks on an object member as a whole: the key as text, a
    /// `constructor` → `prototype` shape, and a secret-named key with a
    /// literal value.
    fn check_member(&self, key: &str, value: &Value, hits: &mut Hits) {
        self.scan_string(key, Context::default(), hits);
        if key == "constructor"
            && let Value::Object(inner) = value
            && inner.contains_key("prototype")
        {
            hits.push(RuleId::PrototypePollution, || {
                "Prototype pollution: object key `constructor` holding `prototype`".to_owned()
            });
        }
        if let Value::String(s) = value
            && detect::is_secret_key(key)
            && detect::literal_secret(s.as_bytes())
        {
            hits.push(RuleId::SecretAssignment, || {
                format!(
                    "Hard-coded secret in `{}`: {}",
                    detect::snippet(key.as_bytes()),
                    detect::redact(s.as_bytes())
                )
            });
        }
    }

    fn scan_libraries(
        advisories: &AdvisoryDb,
        artifact_id: &str,
        libraries: &[Library],
        findings: &mut Vec<Finding>,
    ) {
        for (index, library) in libraries.iter().enumerate() {
            for m in advisories.check(library) {
                let aliases = if m.aliases.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", m.aliases.join(", "))
                };
                let (rule, severity, message, fixed) = match &m.outcome {
                    advisory::Outcome::Affected { fixed } => {
                        let fix = match fixed {
                            Some(f) => format!("; fixed in {f}"),
                            None => "; no fixed version listed".to_owned(),
                        };
                        let summary = m
                            .summary
                            .as_deref()
                            .map(|s| format!(": {s}"))
                            .unwrap_or_default();
                        (
                            RuleId::VulnerableLibrary,
                            m.severity,
                            format!(
                                "{} {} ({}) is affected by {}{}, {}{}{}",
                                library.name,
                                library.version,
                                library.ecosystem,
                                m.id,
                                aliases,
                                m.severity.as_str(),
                                summary,
                                fix
                            ),
                            fixed.clone(),
                        )
                    }
                    advisory::Outcome::Unverifiable => {
                        let rule = RuleId::UnverifiableLibraryVersion;
                        (
                            rule,
                            rule.rule().severity,
                            format!(
                                "{} version `{}` ({}) cannot be compared with the ranges of {}{}",
                                library.name, library.version, library.ecosystem, m.id, aliases
                            ),
                            None,
                        )
                    }
                };
                findings.push(Finding {
                    rule_id: rule.id().to_owned(),
                    severity,
                    artifact_id: artifact_id.to_owned(),
                    path: format!("/libraries/{index}"),
                    message,
                    capability: None,
                    snippet: None,
                    advisory: Some(m.reference(fixed)),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FRAGMENTS: &[&str] = &[
        "eval",
        "Function",
        "(",
        ")",
        "'",
        "\"",
        "`",
        " ",
        "+",
        "/",
        ".",
        "[",
        "]",
        "{{",
        "}}",
        "${",
        "}",
        "#{",
        "<%",
        "%>",
        "{%",
        "%}",
        "\\x65",
        "\\u0065",
        "\\145",
        "&#101;",
        "__proto__",
        "constructor",
        "prototype",
        "require",
        "import",
        "child_process",
        "exec",
        "spawn",
        "os",
        "system",
        "subprocess",
        "window",
        "this",
        "globalThis",
        "ev",
        "al",
        "con",
        "structor",
        "String.fromCharCode(101,118,97,108)",
        "atob",
        "ZXZhbCgxKQ==",
        "join",
        "[\"e\",\"val\"]",
        "split('')",
        "reverse()",
        "iex",
        "Invoke-Expression",
        "I`nv`oke",
        "Start-Process",
        "[char]105",
        "chr(101)",
        "T(java.lang.Runtime)",
        "__class__",
        "lipsum.",
        "jndi:",
        "${${lower:j}",
        "?new()",
        "getClass()",
        "forName",
        "AKIAZ7QW3XH2KD9PLM4T",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "xoxb-123456789012-abc",
        "Bearer ",
        "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig",
        "http://",
        "https://",
        "a:b@host.com",
        "password=",
        "\"apiKey\": \"",
        "hunter22",
        "-----BEGIN PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEA7Zq0v9xYkLr8s3sP2d5Q1wq2bX9",
        "/**/",
        "//c\n",
        "\n",
        "input.x",
        "Process",
        ".Start",
        "Runtime.getRuntime()",
        "vm.runInNewContext",
        "setTimeout",
        "powershell -enc SQBFAFgAIAAkAHgA",
        "Buffer.from",
        "base64",
        "unescape('%65val')",
        "concat",
        "process.binding",
        "importlib",
        "__import__",
        "System.load",
        "freemarker.template.utility.Execute",
        "xp_cmdshell",
        "WScript.Shell",
        "$",
        "=",
        ":",
        "example.com",
        "localhost",
    ];

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(FRAGMENTS), 0..12)
            .prop_map(|parts| parts.concat())
    }

    fn findings(scanner: &Scanner, definition: &Value) -> Vec<(String, String)> {
        scanner
            .scan([ScanInput {
                artifact_id: "a",
                definition,
                libraries: &[],
            }])
            .security_findings
            .into_iter()
            .map(|f| (f.rule_id, f.path))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The prefilter only saves time: with it or without it (every
        /// detector on every string), the findings are the same.
        #[test]
        fn prefilter_never_changes_findings(value in text(), key in text(), field in prop::sample::select(&["script", "name", "description", "query"][..])) {
            static SCANNERS: std::sync::LazyLock<(Scanner, Scanner)> = std::sync::LazyLock::new(|| {
                let mut bypass = Scanner::new(AdvisoryDb::empty());
                bypass.bypass_prefilter = true;
                (Scanner::new(AdvisoryDb::empty()), bypass)
            });
            let definition = serde_json::json!({ field: value, "k": { key.clone(): "x" } });
            let fast = findings(&SCANNERS.0, &definition);
            let slow = findings(&SCANNERS.1, &definition);
            prop_assert_eq!(fast, slow, "value {:?} key {:?}", value, key);
        }
    }
}
