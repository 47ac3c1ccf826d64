//! The precise detectors, run only on strings the prefilter sent here.
//!
//! Code rules (evaluation, processes, modules, prototype pollution,
//! template escapes) run on the raw text and on every text normalization
//! produced, as one `RegexSet` pass each. Literal rules (secrets, plain
//! http) run on the raw text only: they look for what is written, and each
//! match passes a validator (a placeholder is not a secret, a JWT header must
//! decode, `http://localhost` is fine). Template injection depends on the
//! field the string sits in, so it takes the nearest object key.
//!
//! Patterns work on bytes with ASCII classes (`(?-u)`): the identifiers we
//! look for are ASCII, and ASCII classes keep the lazy DFA small.

use regex::bytes::{Regex, RegexSet};

use crate::normalize::{GAP, normalize};
use crate::prefilter::{NEEDS_CODE, NEEDS_LITERAL, NEEDS_PLACEHOLDER, NEEDS_TEMPLATE};
use crate::report::Capability;
use crate::rules::RuleId;

/// Before an identifier: not inside a longer identifier (a `.` may precede).
const B: &str = r"(?:^|[^A-Za-z0-9_$])";
/// Before an identifier that must not be a member (`x.exec(` is RegExp's).
const BD: &str = r"(?:^|[^A-Za-z0-9_$.])";
/// After an identifier.
const E: &str = r"(?:[^A-Za-z0-9_$]|$)";
/// Any JavaScript quote.
const Q: &str = r#"["'`]"#;

/// Inside a template: what reaches the language runtime. Identifiers are
/// matched as whole words, as the prefilter's tokenizer sees them.
const TEMPLATE_DANGER: &str = r"(?:[^}]*[^A-Za-z0-9_$}])?(?:(?:constructor|__[A-Za-z0-9_]+__|getClass|forName|getRuntime|ProcessBuilder|child_process|mainModule|freemarker)(?:[^A-Za-z0-9_$]|$)|(?:lipsum|cycler|joiner){G}\.|T{G}\({G}(?:java|javax|org|com|sun|jdk)\.|(?:eval|exec|execSync|system|popen|spawn|require|import|Function){G}\(|\?new{G}\()";

const CODE_PATTERNS: &[(RuleId, &str)] = &[
    // Dynamic code evaluation.
    (RuleId::CodeEval, r"{B}eval{G}\("),
    (RuleId::CodeEval, r"{B}Function{G}\("),
    (
        RuleId::CodeEval,
        r"{B}(?:setTimeout|setInterval|setImmediate|execScript){G}\({G}{Q}",
    ),
    (RuleId::CodeEval, r"{BD}exec{G}\("),
    (
        RuleId::CodeEval,
        r"{B}(?:window|globalThis|self|global|top|parent|frames|this){G}(?:\.{G}eval{E}|\[{G}{Q}eval{Q}{G}\])",
    ),
    (
        RuleId::CodeEval,
        r"\[{G}{Q}(?:eval|Function|execScript|setTimeout|setInterval){Q}{G}\]",
    ),
    (
        RuleId::CodeEval,
        // Delimited as PowerShell writes it (`iex $x`, `... | iex`,
        // `iex(...)`), not merely by non-letters: `+iEx/` turns up in any
        // large base64 blob.
        r#"(?i)(?:^|[\s|;({&=`])(?:invoke-expression|iex)(?:[\s("'$;)]|$)"#,
    ),
    (
        RuleId::CodeEval,
        r"(?i)(?:^|[^a-z0-9_])(?:executeglobal|sp_executesql)(?:[^a-z0-9_]|$)",
    ),
    (
        RuleId::CodeEval,
        r"{B}(?:runIn(?:New|This)?Context|compileFunction){G}\(|{B}vm{G}\.{G}(?:Script|SourceTextModule){E}",
    ),
    (
        RuleId::CodeEval,
        r"{B}(?:ScriptEngineManager|GroovyShell|getEngineByName){E}",
    ),
    (RuleId::CodeEval, r"\.{G}constructor{G}\({G}{Q}"),
    // Process spawning.
    (RuleId::CodeProcess, r"{B}child_process{E}"),
    (
        RuleId::CodeProcess,
        r"{B}(?:execSync|execFileSync|execFile|spawnSync){G}\(",
    ),
    (RuleId::CodeProcess, r"{BD}spawn{G}\("),
    (
        RuleId::CodeProcess,
        r"{B}Runtime{G}\.{G}getRuntime|{B}getRuntime{G}\({G}\){G}\.{G}exec",
    ),
    (
        RuleId::CodeProcess,
        r"{B}(?:ProcessBuilder|ProcessStartInfo){E}",
    ),
    (
        RuleId::CodeProcess,
        r"(?i)(?:^|[^a-z0-9_$])diagnostics{G}\.{G}process(?:startinfo)?(?:[^a-z0-9_$]|$)",
    ),
    (RuleId::CodeProcess, r"{B}Process{G}\.{G}Start{G}\("),
    (
        RuleId::CodeProcess,
        r"{B}os{G}\.{G}(?:system|popen[234]?|exec[lv]p?e?|spawn[lv]p?e?|posix_spawnp?|startfile|forkpty){E}",
    ),
    (
        RuleId::CodeProcess,
        r"{B}subprocess{E}|{B}pty{G}\.{G}spawn{E}",
    ),
    (
        RuleId::CodeProcess,
        r"{BD}(?:system|popen|shell_exec|passthru|proc_open|pcntl_exec){G}\(",
    ),
    (
        RuleId::CodeProcess,
        r"{B}Open3{G}\.|{B}Deno{G}\.{G}(?:run|Command){E}|{B}Bun{G}\.{G}spawn(?:Sync)?{E}",
    ),
    (
        RuleId::CodeProcess,
        r"(?i)(?:^|[^a-z0-9_-])(?:start-process|invoke-command|invoke-wmimethod|invoke-cimmethod)(?:[^a-z0-9_-]|$)",
    ),
    (
        RuleId::CodeProcess,
        r"(?i)(?:^|[^a-z0-9_$])(?:wscript{G}\.{G}shell|shell{G}\.{G}application|xp_cmdshell)(?:[^a-z0-9_$]|$)",
    ),
    // Module loading.
    (RuleId::CodeModuleLoad, r"{BD}require{G}\("),
    (
        RuleId::CodeModuleLoad,
        r"{B}(?:module|global|globalThis|mainModule|window|self){G}\.{G}require{G}\(",
    ),
    (RuleId::CodeModuleLoad, r"{BD}import{G}\("),
    (
        RuleId::CodeModuleLoad,
        r"{B}__import__{E}|{B}importlib{E}|{B}importScripts{G}\(",
    ),
    (
        RuleId::CodeModuleLoad,
        r"{B}Assembly{G}\.{G}(?:Load|LoadFrom|LoadFile|UnsafeLoadFrom|LoadWithPartialName){G}\(",
    ),
    (RuleId::CodeModuleLoad, r"{B}forName{G}\("),
    (
        RuleId::CodeModuleLoad,
        r"{B}System{G}\.{G}load(?:Library)?{G}\(",
    ),
    (
        RuleId::CodeModuleLoad,
        r"{B}process{G}\.{G}(?:binding|_linkedBinding|dlopen|mainModule){E}",
    ),
    (
        RuleId::CodeModuleLoad,
        r"\[{G}{Q}(?:require|mainModule|child_process){Q}{G}\]",
    ),
    // Prototype pollution.
    (RuleId::PrototypePollution, r"{B}__proto__{E}"),
    (
        RuleId::PrototypePollution,
        r"{B}constructor{G}(?:\.{G}|\[{G}{Q})(?:constructor|prototype){E}",
    ),
    (
        RuleId::PrototypePollution,
        r"{B}Object{G}\.{G}prototype{G}(?:\.{G}[A-Za-z_$][A-Za-z0-9_$]*|\[[^\]]*\]){G}=(?:[^=]|$)",
    ),
    (
        RuleId::PrototypePollution,
        r"(?:defineProperty|defineProperties|assign|setPrototypeOf){G}\({G}Object{G}\.{G}prototype{E}",
    ),
    (
        RuleId::PrototypePollution,
        r"\[{G}{Q}(?:__proto__|constructor|prototype){Q}{G}\]",
    ),
    // Template escapes.
    (RuleId::TemplateEscape, r"(?:\{\{|\{%|\$\{|#\{){D}"),
    (RuleId::TemplateEscape, r"<%(?:{D}|[^%]*`)"),
    (RuleId::TemplateEscape, r"(?i)\$\{{G}jndi{G}:"),
    (
        RuleId::TemplateEscape,
        r"(?i)\$\{[^}]*\$\{{G}(?:lower|upper|::-|env|sys|date|main|base64|ctx|k8s|docker|web|bundle|java|jvmrunargs|log4j|marker|map|sd|spring)[^}]*\}",
    ),
    (
        RuleId::TemplateEscape,
        r"{B}freemarker{G}\.{G}template{G}\.{G}utility|\?new{G}\({G}\)|{B}getClass{G}\({G}\){G}\.{G}(?:forName|getClassLoader)",
    ),
];

/// Spelling rules that a parser judges better: on text that parsed as
/// JavaScript or Python, `require(…)` and `import(…)` are judged by the
/// module they name (see `code::js::ALLOWED_MODULES`), so these patterns
/// are skipped there.
const JUDGED_BY_PARSER: &[&str] = &[
    r"{BD}require{G}\(",
    r"{B}(?:module|global|globalThis|mainModule|window|self){G}\.{G}require{G}\(",
    r"{BD}import{G}\(",
];

/// What a literal match must pass to count.
#[derive(Debug, Clone, Copy)]
enum Validator {
    PemBody,
    AwsKey,
    Token,
    Bearer,
    Jwt,
    UrlCredentials,
    Assignment,
    Http,
}

const LITERAL_PATTERNS: &[(RuleId, Validator, &str)] = &[
    (
        RuleId::SecretPrivateKey,
        Validator::PemBody,
        r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----",
    ),
    (
        RuleId::SecretAwsAccessKey,
        Validator::AwsKey,
        r"(?:^|[^A-Za-z0-9_])((?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16})(?:[^A-Za-z0-9]|$)",
    ),
    (
        RuleId::SecretGithubToken,
        Validator::Token,
        r"(?:^|[^A-Za-z0-9_])((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})",
    ),
    (
        RuleId::SecretSlackToken,
        Validator::Token,
        r"(?:^|[^A-Za-z0-9_])(xox[abeoprs]-[0-9A-Za-z-]{10,}|hooks\.slack\.com/services/T[0-9A-Z]{6,}/B[0-9A-Z]{6,}/[0-9A-Za-z]{16,})",
    ),
    (
        RuleId::SecretBearerToken,
        Validator::Bearer,
        r"(?i)(?:^|[^a-z0-9_])bearer\s+([A-Za-z0-9._~+/-]{20,}=*)",
    ),
    (
        RuleId::SecretJwt,
        Validator::Jwt,
        r"(?:^|[^A-Za-z0-9_+/-])(eyJ[A-Za-z0-9_-]{5,})\.(eyJ[A-Za-z0-9_-]{5,})\.([A-Za-z0-9_-]*)",
    ),
    (
        RuleId::SecretUrlCredentials,
        Validator::UrlCredentials,
        r#"[A-Za-z][A-Za-z0-9+.-]*://([^/\s:@"'<>{}]+):([^/\s@"'<>]+)@"#,
    ),
    (
        RuleId::SecretAssignment,
        Validator::Assignment,
        r#"(?i)(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?key|client[_-]?secret|private[_-]?key|(?:access|auth|api|refresh|session|bearer)[_-]?token)=([^\s"';,&{}$<>()\[\]]{4,})"#,
    ),
    (
        RuleId::SecretAssignment,
        Validator::Assignment,
        r#"(?i)(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?key|client[_-]?secret|private[_-]?key|(?:access|auth|api|refresh|session|bearer)[_-]?token)["']?\s*[:=]\s*["']([^"'\s]{4,})["']"#,
    ),
    (
        RuleId::PlainHttp,
        Validator::Http,
        r#"(?i)http://([^/\s"'<>?#\\`]+)"#,
    ),
];

fn expand(pattern: &str) -> String {
    let p = pattern
        .replace("{D}", TEMPLATE_DANGER)
        .replace("{G}", GAP)
        .replace("{BD}", BD)
        .replace("{B}", B)
        .replace("{E}", E)
        .replace("{Q}", Q);
    format!("(?-u){p}")
}

/// Where a string sits, for the rules that care.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Context<'a> {
    /// The closest object key above the string (array indices skipped);
    /// for an object key itself, `None`.
    pub(crate) field: Option<&'a str>,
    /// `field` is one whose text the platform executes
    /// ([`is_executable_field`]); set by the scanner, once per string.
    pub(crate) executable: bool,
    /// The string parsed as JavaScript or Python and its syntax tree was
    /// judged.
    pub(crate) parsed: bool,
}

/// One finding of one string, before it gets its place.
#[derive(Debug)]
pub(crate) struct Hit {
    pub(crate) rule: RuleId,
    pub(crate) message: String,
    pub(crate) capability: Option<Capability>,
    pub(crate) snippet: Option<String>,
}

/// Findings of one string: at most one per rule.
#[derive(Debug, Default)]
pub(crate) struct Hits {
    seen: u32,
    pub(crate) list: Vec<Hit>,
}

impl Hits {
    pub(crate) fn has(&self, rule: RuleId) -> bool {
        self.seen & rule.bit() != 0
    }

    pub(crate) fn push(&mut self, rule: RuleId, message: impl FnOnce() -> String) {
        self.push_with(rule, || (message(), None));
    }

    /// Like [`Hits::push`], with the snippet that was judged.
    pub(crate) fn push_with(
        &mut self,
        rule: RuleId,
        found: impl FnOnce() -> (String, Option<String>),
    ) {
        if !self.has(rule) {
            self.seen |= rule.bit();
            let (message, snippet) = found();
            self.list.push(Hit {
                rule,
                message,
                capability: rule.capability(),
                snippet,
            });
        }
    }

    /// The findings of the code analysis, ahead of the spelling rules'.
    pub(crate) fn push_code(&mut self, findings: Vec<crate::code::CodeFinding>) {
        for f in findings {
            if self.has(f.rule) {
                continue;
            }
            self.seen |= f.rule.bit();
            self.list.push(Hit {
                rule: f.rule,
                message: format!("{}: {}: `{}`", f.rule.rule().title, f.detail, f.snippet),
                capability: Some(f.capability),
                snippet: Some(f.snippet),
            });
        }
    }

    pub(crate) fn clear(&mut self) {
        self.seen = 0;
        self.list.clear();
    }
}

pub(crate) struct Detectors {
    code_set: RegexSet,
    /// Per row of `code`: skipped on parsed text.
    judged_by_parser: Vec<bool>,
    code: Vec<Regex>,
    /// The template-escape rows of `code`, for strings whose only signal is
    /// a template opener (`{{input.x}}` is everywhere).
    template_set: RegexSet,
    template_index: Vec<usize>,
    literal_set: RegexSet,
    literal: Vec<Regex>,
    placeholder: Regex,
}

impl Detectors {
    pub(crate) fn new() -> Detectors {
        let code_src: Vec<String> = CODE_PATTERNS.iter().map(|(_, p)| expand(p)).collect();
        let literal_src: Vec<String> = LITERAL_PATTERNS.iter().map(|(_, _, p)| expand(p)).collect();
        let build = |p: &String| Regex::new(p).expect("detector regexes are valid");
        let template_index: Vec<usize> = CODE_PATTERNS
            .iter()
            .enumerate()
            .filter(|(_, (rule, _))| *rule == RuleId::TemplateEscape)
            .map(|(i, _)| i)
            .collect();
        Detectors {
            judged_by_parser: CODE_PATTERNS
                .iter()
                .map(|(_, p)| JUDGED_BY_PARSER.contains(p))
                .collect(),
            template_set: RegexSet::new(template_index.iter().map(|&i| &code_src[i]))
                .expect("detector regexes are valid"),
            template_index,
            code_set: RegexSet::new(&code_src).expect("detector regexes are valid"),
            code: code_src.iter().map(build).collect(),
            literal_set: RegexSet::new(&literal_src).expect("detector regexes are valid"),
            literal: literal_src.iter().map(build).collect(),
            placeholder: Regex::new(
                r"(?-u)\$\{\{(?s:.)*?\}\}|\{\{(?s:.)*?\}\}|\$\{[^}]*\}|<%=?(?s:.)*?%>",
            )
            .expect("placeholder regex is valid"),
        }
    }

    /// The rules a string needs (`needs`: the prefilter's `NEEDS_*` bits).
    pub(crate) fn scan(&self, raw: &str, needs: u8, ctx: Context<'_>, hits: &mut Hits) {
        if needs & NEEDS_CODE != 0 {
            self.scan_code(raw, false, ctx.parsed, hits);
            let normalized = normalize(raw);
            for text in &normalized.texts {
                self.scan_code(text, true, ctx.parsed, hits);
            }
            for piece in &normalized.assembled {
                if let Some(rule) = assembled_rule(piece) {
                    hits.push(rule, || {
                        format!(
                            "{}: `{}` assembled from pieces (concatenation or character codes)",
                            rule.rule().title,
                            snippet(piece.as_bytes())
                        )
                    });
                }
            }
        } else if needs & NEEDS_TEMPLATE != 0 {
            let bytes = raw.as_bytes();
            for i in self.template_set.matches(bytes).iter() {
                self.report_code(self.template_index[i], bytes, false, hits);
            }
        }
        if needs & NEEDS_LITERAL != 0 {
            self.scan_literals(raw, ctx, hits);
        }
        if needs & NEEDS_PLACEHOLDER != 0
            && ctx.executable
            && let Some(field) = ctx.field
        {
            self.template_injection(raw, field, hits);
        }
    }

    fn scan_code(&self, text: &str, decoded: bool, parsed: bool, hits: &mut Hits) {
        let bytes = text.as_bytes();
        for index in self.code_set.matches(bytes).iter() {
            if parsed && self.judged_by_parser[index] {
                continue;
            }
            self.report_code(index, bytes, decoded, hits);
        }
    }

    fn report_code(&self, index: usize, bytes: &[u8], decoded: bool, hits: &mut Hits) {
        let rule = CODE_PATTERNS[index].0;
        if hits.has(rule) {
            return;
        }
        let Some(m) = self.code[index].find(bytes) else {
            return;
        };
        hits.push_with(rule, || {
            // The match and a little of what follows, to show the call.
            let end = bytes[m.end()..]
                .iter()
                .take(40)
                .position(|&b| b == b'\n')
                .map_or((m.end() + 40).min(bytes.len()), |p| m.end() + p);
            let shown = trim_boundary(&bytes[m.start()..end]);
            let mut message = format!("{}: `{}`", rule.rule().title, snippet(shown));
            if decoded {
                message.push_str(" (after decoding escapes, concatenation or encoded payloads)");
            }
            (message, Some(snippet(shown)))
        });
    }

    fn scan_literals(&self, raw: &str, ctx: Context<'_>, hits: &mut Hits) {
        let bytes = raw.as_bytes();
        for index in self.literal_set.matches(bytes).iter() {
            let (rule, validator, _) = LITERAL_PATTERNS[index];
            if hits.has(rule) {
                continue;
            }
            for caps in self.literal[index].captures_iter(bytes) {
                if let Some(message) = validate(validator, &caps, bytes, ctx) {
                    hits.push(rule, || message);
                    break;
                }
            }
        }
    }

    fn template_injection(&self, raw: &str, field: &str, hits: &mut Hits) {
        let bytes = raw.as_bytes();
        let mut worst: Option<(RuleId, &[u8])> = None;
        let mut backticks = Backticks::default();
        for m in self.placeholder.find_iter(bytes) {
            let inside = backticks.inside(bytes, m.start());
            if m.as_bytes().starts_with(b"${") && !m.as_bytes().starts_with(b"${{") && inside {
                // JavaScript's own template literal, not a platform placeholder.
                continue;
            }
            match classify_placeholder(m.as_bytes()) {
                Trust::Untrusted => {
                    worst = Some((RuleId::TemplateInjection, m.as_bytes()));
                    break;
                }
                Trust::Unknown if worst.is_none() => {
                    worst = Some((RuleId::TemplateInterpolation, m.as_bytes()));
                }
                _ => {}
            }
        }
        if let Some((rule, placeholder)) = worst {
            hits.push(rule, || {
                format!(
                    "{}: `{}` inside the executable field `{}`; pass it as a parameter instead",
                    rule.rule().title,
                    snippet(placeholder),
                    field
                )
            });
        }
    }
}

/// An identifier assembled from pieces that names a dangerous API.
fn assembled_rule(piece: &str) -> Option<RuleId> {
    let piece = piece.trim();
    let rule = match piece {
        "eval" | "Function" | "execScript" | "setTimeout" | "setInterval" => RuleId::CodeEval,
        "child_process" | "execSync" | "execFile" | "spawn" | "spawnSync" | "exec" | "system"
        | "popen" | "subprocess" | "ProcessBuilder" | "getRuntime" => RuleId::CodeProcess,
        "require" | "import" | "mainModule" | "__import__" | "importlib" => RuleId::CodeModuleLoad,
        "__proto__" | "constructor" | "prototype" => RuleId::PrototypePollution,
        _ => match piece.to_ascii_lowercase().as_str() {
            "iex" | "invoke-expression" => RuleId::CodeEval,
            "start-process" | "wscript.shell" => RuleId::CodeProcess,
            _ => return None,
        },
    };
    Some(rule)
}

/// The tail of `key`'s bytes that `keep` keeps, lower-cased into `buf`
/// without allocating (this runs for every key of every definition). A name
/// longer than `buf` keeps its last bytes: every rule matches a name by its
/// end (`…OnboardScript`) or whole, and a whole-name rule never matches a
/// name that long.
fn fold_key<'b>(key: &str, buf: &'b mut [u8], keep: impl Fn(u8) -> bool) -> &'b [u8] {
    let mut start = buf.len();
    for b in key.bytes().rev().filter(|&b| keep(b)) {
        if start == 0 {
            // Too long for a whole-name match: make sure none happens.
            buf[0] = b'#';
            break;
        }
        start -= 1;
        buf[start] = b.to_ascii_lowercase();
    }
    &buf[start..]
}

/// Executable field names, folded (lower case, no `_` or `-`).
const EXECUTABLE_EXACT: &[&[u8]] = &[
    b"script",
    b"code",
    b"expression",
    b"expr",
    b"command",
    b"cmd",
    b"query",
    b"sql",
    b"shell",
    b"run",
    b"eval",
    b"js",
    b"javascript",
    b"python",
    b"powershell",
    b"bash",
    b"formula",
    b"condition",
    b"jscode",
    b"sourcecode",
    b"customcode",
    b"inlinecode",
    b"scriptcode",
    b"sqlquery",
    b"rawquery",
    b"dbquery",
    b"nativequery",
];
/// Endings of executable field names (`preScript`, `filterExpression`).
const EXECUTABLE_SUFFIX: &[&[u8]] = &[b"script", b"expression", b"command", b"sql"];

/// Field names whose text the platform executes . Matching
/// ignores case, `_` and `-`. `code` alone is a sink, but `postalCode`
/// is not, so only the listed compounds end in `code`.
pub(crate) fn is_executable_field(field: &str) -> bool {
    // Every name below ends in one of these pairs of letters; most keys
    // (`name`, `type`, `title`, `value`) stop here, before any folding
    // (this runs for every string of every definition). The unit test
    // `executable_fields` keeps the pairs in step with the names.
    let mut tail = field
        .bytes()
        .rev()
        .filter(|&b| b != b'_' && b != b'-')
        .map(|b| b.to_ascii_lowercase());
    let (Some(last), Some(before)) = (tail.next(), tail.next()) else {
        return false;
    };
    if !matches!(
        &[before, last],
        b"pt"
            | b"de"
            | b"on"
            | b"pr"
            | b"nd"
            | b"md"
            | b"ry"
            | b"ql"
            | b"ll"
            | b"un"
            | b"al"
            | b"js"
            | b"sh"
            | b"la"
    ) {
        return false;
    }
    let mut buf = [0u8; 48];
    let name = fold_key(field, &mut buf, |b| b != b'_' && b != b'-');
    EXECUTABLE_EXACT.contains(&name) || EXECUTABLE_SUFFIX.iter().any(|s| name.ends_with(s))
}

#[derive(Debug, PartialEq, Eq)]
enum Trust {
    Untrusted,
    Unknown,
    Trusted,
}

/// Grades a placeholder by the data it reads: any reference to outside input
/// makes it untrusted; configuration-only references are trusted; anything
/// else (step outputs, fetched data) is unknown.
fn classify_placeholder(placeholder: &[u8]) -> Trust {
    const UNTRUSTED_ROOTS: &[&str] = &[
        "input",
        "inputs",
        "trigger",
        "request",
        "req",
        "body",
        "query",
        "params",
        "param",
        "form",
        "formdata",
        "payload",
        "event",
        "webhook",
        "headers",
        "header",
        "user",
        "args",
        "arguments",
        "message",
        "msg",
        "$json",
        "$input",
        "$body",
        "$request",
        "$trigger",
        "$event",
        "$params",
        "$query",
    ];
    const UNTRUSTED_SEGMENTS: &[&str] = &[
        "event", "body", "headers", "payload", "head_ref", "query", "params", "input", "inputs",
    ];
    const TRUSTED_ROOTS: &[&str] = &[
        "env",
        "config",
        "configuration",
        "settings",
        "vars",
        "variables",
        "secrets",
        "secret",
        "const",
        "constants",
        "tenant",
        "artifact",
        "workflow",
        "runner",
        "matrix",
        "strategy",
        "$env",
        "$vars",
        "$secrets",
        "$config",
    ];
    let text = String::from_utf8_lossy(placeholder);
    let inner = text
        .trim_start_matches(['$', '{', '<', '%', '='])
        .trim_end_matches(['}', '%', '>']);
    let mut any = false;
    let mut unknown = false;
    for token in inner.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.')))
    {
        let token = token.trim_matches('.');
        let Some(root) = token.split('.').next() else {
            continue;
        };
        if root.is_empty() || root.as_bytes()[0].is_ascii_digit() {
            continue;
        }
        any = true;
        let root = root.to_ascii_lowercase();
        let segments = || token.split('.').skip(1).map(str::to_ascii_lowercase);
        if UNTRUSTED_ROOTS.contains(&root.as_str())
            || segments().any(|s| UNTRUSTED_SEGMENTS.contains(&s.as_str()))
            || (root == "github" && token.contains("event"))
        {
            return Trust::Untrusted;
        }
        if !TRUSTED_ROOTS.contains(&root.as_str()) && !is_keyword(&root) {
            unknown = true;
        }
    }
    if any && unknown {
        Trust::Unknown
    } else {
        Trust::Trusted
    }
}

/// Words of expression languages that read no data.
fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "true"
            | "false"
            | "null"
            | "none"
            | "undefined"
            | "and"
            | "or"
            | "not"
            | "if"
            | "else"
            | "eq"
            | "ne"
            | "lt"
            | "gt"
            | "in"
            | "is"
    )
}

/// Whether a position is inside a JavaScript template literal (an odd
/// number of unescaped backticks before it). Positions are asked in
/// increasing order, so the text is read once, not once per placeholder.
#[derive(Default)]
struct Backticks {
    scanned: usize,
    inside: bool,
}

impl Backticks {
    fn inside(&mut self, bytes: &[u8], pos: usize) -> bool {
        while self.scanned < pos {
            match bytes[self.scanned] {
                b'\\' => self.scanned += 1,
                b'`' => self.inside = !self.inside,
                _ => {}
            }
            self.scanned += 1;
        }
        self.inside
    }
}

fn validate(
    validator: Validator,
    caps: &regex::bytes::Captures<'_>,
    hay: &[u8],
    ctx: Context<'_>,
) -> Option<String> {
    let group = |i: usize| caps.get(i).map(|m| m.as_bytes()).unwrap_or_default();
    match validator {
        Validator::PemBody => {
            let end = caps.get(0)?.end();
            let after = &hay[end..hay.len().min(end + 256)];
            let mut run = 0;
            let has_body = after.iter().any(|&b| {
                if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
                    run += 1;
                } else {
                    run = 0;
                }
                run >= 32
            });
            has_body.then(|| {
                format!(
                    "Hard-coded private key: `{}` followed by key material",
                    String::from_utf8_lossy(group(0))
                )
            })
        }
        Validator::AwsKey => {
            let key = group(1);
            (!key.ends_with(b"EXAMPLE")).then(|| format!("AWS access key id {}", redact(key)))
        }
        Validator::Token => {
            let token = group(1);
            Some(format!("Token {}", redact(token)))
        }
        Validator::Bearer => {
            let token = group(1);
            let digit = token.iter().any(u8::is_ascii_digit);
            let letter = token.iter().any(u8::is_ascii_alphabetic);
            (digit && letter && !is_placeholder(token))
                .then(|| format!("Bearer token {}", redact(token)))
        }
        Validator::Jwt => {
            let header = decode_base64url(group(1))?;
            let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
            let object = header.as_object()?;
            (object.contains_key("alg") || object.contains_key("typ"))
                .then(|| format!("JSON Web Token {}", redact(group(0).trim_ascii_start())))
        }
        Validator::UrlCredentials => {
            let password = group(2);
            (!is_placeholder(password) && !is_masked(password)).then(|| {
                format!(
                    "URL with credentials for user `{}`, password {}",
                    snippet(group(1)),
                    redact(password)
                )
            })
        }
        Validator::Assignment => {
            let value = group(1);
            literal_secret(value).then(|| {
                let key_end = caps.get(1).map_or(0, |m| m.start());
                let whole = caps.get(0)?;
                let key = &hay[whole.start()..key_end];
                Some(format!(
                    "Hard-coded secret `{}` {}",
                    snippet(key).trim_end_matches(['=', ':', ' ', '"', '\'']),
                    redact(value)
                ))
            })?
        }
        Validator::Http => {
            if ctx.field.is_some_and(is_prose_field) {
                return None;
            }
            let authority = String::from_utf8_lossy(group(1)).to_ascii_lowercase();
            let host_port = authority.rsplit('@').next().unwrap_or_default();
            let host = if let Some(rest) = host_port.strip_prefix('[') {
                rest.split(']').next().unwrap_or_default()
            } else {
                host_port.split(':').next().unwrap_or_default()
            };
            (!host.is_empty() && !exempt_http_host(host)).then(|| {
                format!(
                    "Plain http:// endpoint `{}`; use https://",
                    snippet(group(0))
                )
            })
        }
    }
}

fn decode_base64url(s: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
}

/// Hosts whose `http://` is not a network endpoint worth a warning: loopback,
/// the reserved example and test names, and identifiers that are URLs only
/// by convention (XML namespaces, JSON Schema).
fn exempt_http_host(host: &str) -> bool {
    const IDENTIFIER_HOSTS: &[&str] = &[
        "www.w3.org",
        "w3.org",
        "json-schema.org",
        "schemas.xmlsoap.org",
        "schemas.microsoft.com",
        "schemas.openxmlformats.org",
        "purl.org",
        "xmlns.com",
        "ns.adobe.com",
        "www.omg.org",
        "schema.org",
        "java.sun.com",
        "xml.apache.org",
    ];
    host == "localhost"
        || host.ends_with(".localhost")
        || host.starts_with("127.")
        || host == "::1"
        || host == "0.0.0.0"
        || IDENTIFIER_HOSTS.contains(&host)
        || ["example.com", "example.org", "example.net"]
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        || [".example", ".test", ".invalid"]
            .iter()
            .any(|s| host.ends_with(s))
}

/// Fields people read rather than machines call.
fn is_prose_field(field: &str) -> bool {
    let f = field.to_ascii_lowercase();
    matches!(
        f.as_str(),
        "description"
            | "title"
            | "label"
            | "help"
            | "helptext"
            | "comment"
            | "comments"
            | "note"
            | "notes"
            | "summary"
            | "documentation"
            | "docs"
            | "doc"
            | "tooltip"
            | "placeholder"
            | "$schema"
            | "$id"
            | "namespace"
            | "@context"
            | "@id"
            | "@type"
            | "example"
            | "examples"
            | "license"
            | "homepage"
    ) || f.starts_with("xmlns")
}

/// A value that refers to a secret rather than being one.
pub(crate) fn is_placeholder(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    v.windows(2)
        .any(|w| w == b"{{" || w == b"${" || w == b"#{" || w == b"<%")
        || v.first()
            .is_some_and(|&b| b == b'$' || b == b'<' || b == b'@')
        || (v.len() > 2 && v.first() == Some(&b'%') && v.last() == Some(&b'%'))
}

fn is_masked(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    v.first().is_some_and(|&first| {
        matches!(first, b'*' | b'x' | b'X' | b'.' | b'#') && v.iter().all(|&b| b == first)
    })
}

/// A literal-looking secret value: not empty, not a placeholder, not a
/// vault reference, not a mask, not a word that describes a field.
pub(crate) fn literal_secret(value: &[u8]) -> bool {
    const REFERENCE_PREFIXES: &[&str] = &[
        "vault:",
        "env:",
        "secret:",
        "secrets.",
        "secretref:",
        "arn:aws:secretsmanager",
        "arn:aws:ssm",
        "keyvault:",
        "azurekeyvault:",
        "@microsoft.keyvault(",
        "ref:",
        "kms:",
        "gcp-sm:",
        "op://",
    ];
    const WORDS: &[&str] = &[
        "true",
        "false",
        "null",
        "none",
        "undefined",
        "required",
        "optional",
        "string",
        "text",
        "hidden",
        "password",
        "secret",
        "token",
        "redacted",
        "masked",
        "sensitive",
        "bearer",
        "basic",
        "oauth",
        "oauth2",
        "apikey",
        "api_key",
        "header",
        "query",
        "string?",
        "varchar",
    ];
    let v = value.trim_ascii();
    if v.is_empty() || is_placeholder(v) || is_masked(v) {
        return false;
    }
    let lower = String::from_utf8_lossy(v).to_ascii_lowercase();
    !REFERENCE_PREFIXES.iter().any(|p| lower.starts_with(p)) && !WORDS.contains(&lower.as_str())
}

const SECRET_KEY_SUFFIXES: &[&[u8]] = &[
    b"password",
    b"passwd",
    b"pwd",
    b"secret",
    b"apikey",
    b"accesskey",
    b"secretkey",
    b"privatekey",
    b"token",
    b"passphrase",
    b"credentials",
    b"connectionstring",
];

/// The last two letters of every [`SECRET_KEY_SUFFIXES`] entry.
const SECRET_KEY_PAIRS: &[[u8; 2]] = &[
    *b"rd", *b"wd", *b"et", *b"ey", *b"en", *b"se", *b"ls", *b"ng",
];

/// Key names that hold secrets: `password`, `db_password`, `apiKey`,
/// `clientSecret`, `accessToken`; not `tokenUrl`, `passwordPolicy`,
/// `maxTokens` or `nextPageToken`.
pub(crate) fn is_secret_key(key: &str) -> bool {
    // Every suffix below ends in one of these pairs of letters; most keys
    // (`id`, `type`, `name`, `steps`) stop here, before any folding. The
    // unit test `secret_key_pairs` keeps the pairs in step with the names.
    let mut tail = key
        .bytes()
        .rev()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_lowercase());
    let (Some(last), Some(before)) = (tail.next(), tail.next()) else {
        return false;
    };
    if !SECRET_KEY_PAIRS.contains(&[before, last]) {
        return false;
    }
    let mut buf = [0u8; 64];
    let name = fold_key(key, &mut buf, |b| b.is_ascii_alphanumeric());

    const NOT_SECRET: &[&[u8]] = &[
        b"pagetoken",
        b"nexttoken",
        b"nextpagetoken",
        b"continuationtoken",
        b"cursortoken",
        b"maxtoken",
        b"synctoken",
        b"canceltoken",
        b"cancellationtoken",
        b"csrftoken",
        b"xsrftoken",
    ];
    SECRET_KEY_SUFFIXES.iter().any(|s| name.ends_with(s))
        && !NOT_SECRET.iter().any(|s| name.ends_with(s))
}

/// The first four characters of a secret, never more.
pub(crate) fn redact(secret: &[u8]) -> String {
    let s = String::from_utf8_lossy(secret);
    let prefix: String = s.chars().take(4).collect();
    format!("`{prefix}…` ({} characters)", s.chars().count())
}

/// Drops the boundary byte a pattern consumed before the identifier.
fn trim_boundary(m: &[u8]) -> &[u8] {
    match m.first() {
        Some(b)
            if !b.is_ascii_alphanumeric()
                && !matches!(b, b'_' | b'$' | b'[' | b'.' | b'{' | b'<' | b'#') =>
        {
            &m[1..]
        }
        _ => m,
    }
}

/// Up to 80 characters for a message, control characters as spaces.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut out: String = s
        .chars()
        .take(80)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn patterns_judged_by_the_parser_are_rows_of_the_table() {
        // Matched by text: a pattern edited in one place only would stop
        // being skipped on parsed text.
        for pattern in JUDGED_BY_PARSER {
            assert!(
                CODE_PATTERNS.iter().any(|(_, p)| p == pattern),
                "{pattern} is not in CODE_PATTERNS"
            );
        }
        assert_eq!(
            Detectors::new()
                .judged_by_parser
                .iter()
                .filter(|&&j| j)
                .count(),
            JUDGED_BY_PARSER.len()
        );
    }

    use super::*;

    #[test]
    fn secret_key_pairs() {
        // The early exit on the last two letters keeps every listed name,
        // in any case and with separators after it.
        for suffix in SECRET_KEY_SUFFIXES {
            let pair = [suffix[suffix.len() - 2], suffix[suffix.len() - 1]];
            assert!(SECRET_KEY_PAIRS.contains(&pair), "{suffix:?}");
            let name = std::str::from_utf8(suffix).unwrap();
            for key in [
                format!("db_{name}"),
                format!("DB_{}", name.to_uppercase()),
                format!("{name}_-"),
            ] {
                assert!(is_secret_key(&key), "{key}");
            }
        }
        for key in [
            "id",
            "type",
            "name",
            "steps",
            "tokenUrl",
            "nextPageToken",
            "t",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn executable_fields() {
        for f in [
            "script",
            "Script",
            "preScript",
            "code",
            "sqlQuery",
            "raw_sql",
            "shellCommand",
            "condition",
            "filterExpression",
            "pre_script_",
            "SHELL-COMMAND",
        ] {
            assert!(is_executable_field(f), "{f}");
        }
        // The early exit on the last two letters keeps every listed name.
        for name in EXECUTABLE_EXACT.iter().chain(EXECUTABLE_SUFFIX) {
            let name = std::str::from_utf8(name).unwrap();
            for f in [name.to_owned(), name.to_uppercase(), format!("{name}_-")] {
                assert!(is_executable_field(&f), "{f}");
            }
        }
        for suffix in EXECUTABLE_SUFFIX {
            let f = format!("custom_{}", std::str::from_utf8(suffix).unwrap());
            assert!(is_executable_field(&f), "{f}");
        }
        for f in [
            "postalCode",
            "statusCode",
            "name",
            "params",
            "searchQueryLabel",
            "description",
            "url",
        ] {
            assert!(!is_executable_field(f), "{f}");
        }
    }

    #[test]
    fn placeholder_trust() {
        assert_eq!(classify_placeholder(b"{{input.x}}"), Trust::Untrusted);
        assert_eq!(classify_placeholder(b"${trigger.body}"), Trust::Untrusted);
        assert_eq!(
            classify_placeholder(b"${{ github.event.issue.title }}"),
            Trust::Untrusted
        );
        assert_eq!(
            classify_placeholder(b"{{ steps.fetch.output.body }}"),
            Trust::Untrusted
        );
        assert_eq!(
            classify_placeholder(b"{{ steps.fetch.output.id }}"),
            Trust::Unknown
        );
        assert_eq!(classify_placeholder(b"{{ env.REGION }}"), Trust::Trusted);
        assert_eq!(
            classify_placeholder(b"{{ config.limit == true }}"),
            Trust::Trusted
        );
        assert_eq!(classify_placeholder(b"{{ 42 }}"), Trust::Trusted);
    }

    #[test]
    fn secret_keys_and_values() {
        for k in [
            "password",
            "dbPassword",
            "api_key",
            "apiKey",
            "clientSecret",
            "accessToken",
            "X-Api-Key",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "tokenUrl",
            "passwordPolicy",
            "maxTokens",
            "nextPageToken",
            "name",
            "secretName",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
        for v in ["hunter22", "changeme", "sk_live_abc"] {
            assert!(literal_secret(v.as_bytes()), "{v}");
        }
        for v in [
            "",
            "{{secrets.db}}",
            "${DB_PASSWORD}",
            "$DB_PASSWORD",
            "%DB_PASSWORD%",
            "<password>",
            "********",
            "vault:kv/db#pw",
            "true",
            "required",
        ] {
            assert!(!literal_secret(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn backticks() {
        let text = b"const a = `x ${y}`; echo ${z}; \\` `${w}`";
        let mut b = Backticks::default();
        assert!(b.inside(text, 13));
        assert!(!b.inside(text, 25));
        assert!(b.inside(text, 36));
        assert!(!Backticks::default().inside(b"echo ${y}", 5));
    }
}
