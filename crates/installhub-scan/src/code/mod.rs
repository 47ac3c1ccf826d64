//! Code analysis: strings that hold code are parsed, and the syntax tree is
//! judged by what the code can reach (dynamic code, processes, modules, the
//! host's global objects), not by how it is spelled. Spelling rules invite
//! the next spelling (`eval?.(x)`, `(0, eval)(x)`, ``Function`…` ``,
//! `this[(693741).toString(36)]`); a syntax tree has one shape for all of
//! them: a reference to `eval`, a computed key on a global object.
//!
//! Which strings are parsed: those that could hold a call, a computed member
//! access or a tagged template (a `(`, `[` or backtick), or a PowerShell
//! invocation or pipeline (`&`, `|`), and every string of an executable
//! field (`script`, `expression`, `condition`, …). Prose and data without
//! those bytes cost nothing more: the prefilter's one pass over every
//! string notes them. Each language judges what it accepts:
//!
//! - JavaScript with oxc ([`js`]), as a script (top-level `return` allowed,
//!   as platform script steps are function bodies) and, when it could be
//!   one, as a module;
//! - Python with rustpython ([`python`]), when the text names something its
//!   rules judge (a Python line is often valid JavaScript too, so both run);
//! - PowerShell with our own tokenizer ([`powershell`]), as no maintained
//!   PowerShell parser exists on crates.io, when its markers are present.
//!
//! A string that none of them accepts is still checked by the spelling
//! rules in `detect.rs` (with their decoding of escapes, concatenation and
//! base64); an engine would refuse to run it as code.
//!
//! The bodies of template placeholders (`{{ … }}`, `${ … }`) with a call or
//! a computed access are analysed as JavaScript expressions too: that is
//! where low-code platforms evaluate them.

mod js;
mod powershell;
mod python;

pub(crate) use python::NAMES as PYTHON_NAMES;

use crate::report::Capability;
use crate::rules::RuleId;

/// One capability the code reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CodeFinding {
    pub(crate) rule: RuleId,
    pub(crate) capability: Capability,
    /// How it is reached, in a few words ("indirect call of eval").
    pub(crate) detail: String,
    /// The source text of the node, shortened to one line.
    pub(crate) snippet: String,
}

/// Collects findings, one per rule (the first one met), as the scan
/// reports one finding per rule and place.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub(crate) list: Vec<CodeFinding>,
}

impl Findings {
    pub(crate) fn push(
        &mut self,
        rule: RuleId,
        capability: Capability,
        detail: impl Into<String>,
        source: &str,
    ) {
        if self.list.iter().any(|f| f.rule == rule) {
            return;
        }
        self.list.push(CodeFinding {
            rule,
            capability,
            detail: detail.into(),
            snippet: snippet(source),
        });
    }
}

/// The text of a node on one line, at most 120 characters.
pub(crate) fn snippet(source: &str) -> String {
    let mut out = String::new();
    let mut last_space = false;
    for c in source.trim().chars() {
        let c = if c.is_whitespace() || c.is_control() {
            ' '
        } else {
            c
        };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        if out.chars().count() >= 120 {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}

/// Whether a string could hold code worth parsing: `code_bytes` is the
/// prefilter's answer whether it holds a `(`, `[`, a backtick, `&` or `|`
/// (one pass for both).
pub(crate) fn looks_like_code(text: &str, executable_field: bool, code_bytes: bool) -> bool {
    text.len() >= 3 && (executable_field || code_bytes)
}

/// Deepest bracket nesting the parsers are given. No real script comes
/// close, and code nested deeper cannot be judged, so it is refused.
const MAX_NESTING: usize = 128;

/// Most tokens in a string the parsers are given (about 300 KiB of code).
const MAX_TOKENS: usize = 64 * 1024;

/// Stack per token, an upper bound of what the parsers and tree walks
/// use per level of recursion (measured with `examples/depth_probe.rs`:
/// at most 2.5 KiB per level in a debug build, 1 KiB in a release build,
/// and a level takes at least one token).
const STACK_PER_TOKEN: usize = if cfg!(debug_assertions) { 4096 } else { 2048 };

/// Byte classes for [`shape`]: 0 blank, 1 word, 2 other punctuation,
/// 3 opening bracket, 4 closing bracket.
static CLASSES: [u8; 256] = {
    let mut table = [2u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_whitespace() {
            0
        } else if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 {
            1
        } else if c == b'(' || c == b'[' || c == b'{' {
            3
        } else if c == b')' || c == b']' || c == b'}' {
            4
        } else {
            2
        };
        b += 1;
    }
    table
};

/// An upper bound of how deep a parser can recurse on `bytes` (every level
/// of recursion consumes at least one token: a word or a punctuation
/// byte), and the deepest bracket nesting. Branch-free, one table lookup a
/// byte.
fn shape(bytes: &[u8]) -> (usize, usize) {
    let (mut tokens, mut depth, mut nesting) = (0usize, 0usize, 0usize);
    let mut prev = 0u8;
    for &b in bytes {
        let class = CLASSES[usize::from(b)];
        tokens += usize::from(class >= 2 || (class == 1 && prev != 1));
        depth += usize::from(class == 3);
        nesting = nesting.max(depth);
        depth = depth.saturating_sub(usize::from(class == 4));
        prev = class;
    }
    (tokens, nesting)
}

/// Parses `text` in every language that accepts it and collects what the
/// code reaches. Answers whether JavaScript or Python accepted it.
///
/// Recursive-descent parsers recurse once per level of an operator chain
/// (`!!!!x`, `a=b=c=…`), so untrusted text could overflow the stack and
/// abort the process. The parse runs on a stack sized for the worst case
/// of this text (`stacker` maps one when the thread's own is too small;
/// pages that are not touched cost nothing). Text nested too deeply to
/// judge is refused wherever it sits; text too large to judge is refused in
/// an executable field and left to the spelling rules elsewhere.
pub(crate) fn analyze(
    text: &str,
    executable_field: bool,
    python_names: bool,
    out: &mut Findings,
) -> bool {
    let bytes = text.as_bytes();
    // Most code is small: a string no longer than the stack left here can
    // hold at one level per byte, with fewer opening brackets than the
    // nesting limit, is within both limits whatever its shape, and parses
    // on this stack. Counting the brackets is one vectorized pass; the
    // exact [`shape`] is a table lookup per byte.
    let fits = 64 * 1024 + bytes.len() * STACK_PER_TOKEN;
    if bytes.len() <= MAX_TOKENS
        && stacker::remaining_stack().is_some_and(|left| left >= fits)
        && bytes
            .iter()
            .filter(|&&b| matches!(b, b'(' | b'[' | b'{'))
            .count()
            <= MAX_NESTING
    {
        return parse_and_judge(text, executable_field, python_names, out);
    }
    let (tokens, nesting) = shape(bytes);
    let refusal = if nesting > MAX_NESTING {
        Some(format!(
            "code nested deeper than {MAX_NESTING} brackets cannot be judged"
        ))
    } else if tokens > MAX_TOKENS {
        Some(format!(
            "code of more than {MAX_TOKENS} tokens is too large to judge"
        ))
    } else {
        None
    };
    if let Some(detail) = refusal {
        if executable_field || nesting > MAX_NESTING {
            out.push(RuleId::CodeEval, Capability::DynamicCode, detail, text);
        }
        return false;
    }
    let stack = 64 * 1024 + tokens * STACK_PER_TOKEN;
    stacker::maybe_grow(stack, stack, || {
        parse_and_judge(text, executable_field, python_names, out)
    })
}

fn parse_and_judge(
    text: &str,
    executable_field: bool,
    python_names: bool,
    out: &mut Findings,
) -> bool {
    let bytes = text.as_bytes();
    let js_like = memchr::memchr3(b'(', b'[', b'`', bytes).is_some();
    let mut parsed = false;
    if js_like || executable_field {
        // Both, as a Python line is often valid JavaScript too
        // (`globals()[k](x)`); Python skips text that names nothing its
        // rules look for.
        let js = js::analyze(text, out);
        let python = python::analyze(text, python_names, out);
        parsed = js || python;
    }
    // Text that is valid JavaScript or Python is judged by PowerShell's
    // unambiguous rules only (`start(x)` or `cmd = x` are not commands
    // there), and only when it names something those rules look for.
    if names_powershell(bytes, !parsed) {
        powershell::analyze(text, !parsed, out);
    }
    for body in placeholder_bodies(text) {
        js::analyze_expression(body, out);
    }
    parsed
}

/// What PowerShell's rules look for, as literals found ignoring ASCII
/// case with one SIMD search, then checked in context by [`names_powershell`].
/// The first six are the unambiguous rules' (Invoke-Expression, `-e…`
/// switches, `::` static members, a backtick inside a word, which may hide
/// any name); the rest the command rules' (an invocation operator `&` or
/// `.`, and the command names).
const POWERSHELL_MARKERS: &[&str] = &[
    "iex",
    "invoke",
    "scriptblock",
    "-e",
    "::",
    "`",
    "&",
    ".",
    "start",
    "saps",
    "icm",
    "ii",
    "sajb",
    "iwmi",
    "powershell",
    "pwsh",
    "cmd",
    "wscript",
    "cscript",
    "mshta",
    "rundll32",
    "regsvr32",
    "add-type",
    "set-alias",
    "new-alias",
    "sal",
    "nal",
    "import-module",
    "ipmo",
];

/// How many of [`POWERSHELL_MARKERS`] the unambiguous rules use.
const UNAMBIGUOUS_MARKERS: usize = 6;

/// One search for the unambiguous markers (text that parsed as JavaScript
/// or Python, where `.` and `&` are everywhere), one for all of them.
static POWERSHELL_SEARCH: std::sync::LazyLock<[aho_corasick::AhoCorasick; 2]> =
    std::sync::LazyLock::new(|| {
        let build = |markers: &[&str]| {
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(markers)
                .expect("the PowerShell markers build")
        };
        [
            build(&POWERSHELL_MARKERS[..UNAMBIGUOUS_MARKERS]),
            build(POWERSHELL_MARKERS),
        ]
    });

/// Whether `bytes` holds something PowerShell's rules look for: only the
/// unambiguous rules' markers when `commands` is false.
fn names_powershell(bytes: &[u8], commands: bool) -> bool {
    let word =
        |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-');
    let found = |m: aho_corasick::Match| {
        let index = m.pattern().as_usize();
        let before = m.start().checked_sub(1).map(|i| &bytes[i]);
        let after = bytes.get(m.end());
        match POWERSHELL_MARKERS[index] {
            // `-e`, `-ec`, `-enc…` after a blank.
            "-e" => before.is_some_and(u8::is_ascii_whitespace),
            "`" => {
                before.is_some_and(u8::is_ascii_alphabetic)
                    && after.is_some_and(u8::is_ascii_alphabetic)
            }
            // `&` but not `&&`.
            "&" => before != Some(&b'&') && after != Some(&b'&'),
            // `.` invoking: at a statement's start, before `$`, `(` or a quote.
            "." => {
                before.is_none_or(|b| b.is_ascii_whitespace() || b";|({=".contains(b))
                    && bytes[m.end()..]
                        .iter()
                        .find(|b| !b.is_ascii_whitespace())
                        .is_some_and(|b| b"$(\"'".contains(b))
            }
            "iex" | "invoke" | "scriptblock" | "::" => true,
            // A command name is a whole word.
            _ => !word(before) && !word(after),
        }
    };
    if commands {
        // Markers overlap here (`.` in `..`, a command name inside another
        // word), and one that fails its context must not hide the next.
        POWERSHELL_SEARCH[1].find_overlapping_iter(bytes).any(found)
    } else {
        // The unambiguous markers cannot hide one another: the two with a
        // context (`-e`, a backtick) share no byte with any other marker's
        // start, so the non-overlapping search (SIMD-accelerated, unlike the
        // overlapping one) sees every place one of them succeeds.
        POWERSHELL_SEARCH[0].find_iter(bytes).any(found)
    }
}

/// The bodies of `{{ … }}` and `${ … }` placeholders that contain a call
/// or a computed access, the shapes worth a parse.
fn placeholder_bodies(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while let Some(brace) = memchr::memchr(b'{', &bytes[at..]).map(|i| at + i) {
            let (open, close): (usize, &[u8]) = if bytes.get(brace + 1) == Some(&b'{') {
                (brace + 2, b"}}")
            } else if brace > 0 && bytes[brace - 1] == b'$' {
                (brace + 1, b"}")
            } else {
                at = brace + 1;
                continue;
            };
            let Some(end) = memchr::memmem::find(&bytes[open..], close).map(|i| open + i) else {
                at = bytes.len();
                return None;
            };
            at = end + close.len();
            let body = &text[open..end];
            if memchr::memchr3(b'(', b'[', b'`', body.as_bytes()).is_some() {
                return Some(body);
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_one_short_line() {
        assert_eq!(snippet("  eval(\n   x)  "), "eval( x)");
        let long = "a".repeat(500);
        assert_eq!(snippet(&long).chars().count(), 121);
    }

    #[test]
    fn placeholder_bodies_with_calls_are_found() {
        let bodies: Vec<&str> =
            placeholder_bodies("{{ a.b }} and {{ x.constructor('y')() }} ${ z[k] }").collect();
        assert_eq!(bodies, vec![" x.constructor('y')() ", " z[k] "]);
    }
}

#[cfg(test)]
mod timing {
    //! `cargo test --release -p installhub-scan --lib code::timing -- --ignored --nocapture`
    use super::*;

    #[test]
    #[ignore = "a measurement, not a test"]
    fn per_analyzer() {
        let scripts = [
            "function normalizeName(value) {\n  if (!value) { return ''; }\n  const parts = value.trim().split(/\\s+/);\n  return parts.map(p => p.charAt(0).toUpperCase() + p.slice(1).toLowerCase()).join(' ');\n}\nconst first = normalizeName(params.firstName);\nconst last = normalizeName(params.lastName);\nreturn { fullName: first + ' ' + last, initials: first[0] + last[0] };",
            "const match = /^([A-Z]{2})-(\\d{4,8})$/.exec(params.reference);\nif (!match) {\n  throw new Error('Invalid reference: ' + params.reference);\n}\nconst country = match[1];\nconst number = parseInt(match[2], 10);\nreturn { country, number, label: `Ref ${country}/${number}` };",
            "def bucket(amount):\n    if amount < 1000:\n        return 'small'\n    if amount < 10000:\n        return 'medium'\n    return 'large'\n\nresult = {'bucket': bucket(float(params['amount'])), 'approved': params['amount'] < params['limit']}\n",
            "{{ env.REGION }} == 'eu' && {{ config.approvalsEnabled }}",
        ];
        let n = 20_000;
        for s in scripts {
            let mb = (s.len() * n) as f64 / 1e6;
            let time = |f: &dyn Fn()| {
                let t = std::time::Instant::now();
                for _ in 0..n {
                    f();
                }
                mb / t.elapsed().as_secs_f64()
            };
            let js = time(&|| {
                js::analyze(s, &mut Findings::default());
            });
            let oxc = time(&|| {
                let allocator = oxc_allocator::Allocator::default();
                let options = oxc_parser::ParseOptions {
                    allow_return_outside_function: true,
                    ..oxc_parser::ParseOptions::default()
                };
                let ret = oxc_parser::Parser::new(&allocator, s, oxc_span::SourceType::script())
                    .with_options(options)
                    .parse();
                std::hint::black_box(ret.program.body.len());
            });
            let py = time(&|| {
                python::analyze(s, true, &mut Findings::default());
            });
            let ps = time(&|| powershell::analyze(s, true, &mut Findings::default()));
            let shape_only = time(&|| {
                std::hint::black_box(shape(s.as_bytes()));
            });
            let gates = time(&|| {
                std::hint::black_box(names_powershell(s.as_bytes(), true));
            });
            let placeholders = time(&|| {
                std::hint::black_box(placeholder_bodies(s).count());
            });
            let grow = time(&|| {
                stacker::maybe_grow(64 * 1024, 64 * 1024, || std::hint::black_box(1));
            });
            println!("gates {gates:.0} MB/s, placeholders {placeholders:.0}, stacker {grow:.0}");
            let all = time(&|| {
                analyze(s, true, true, &mut Findings::default());
            });
            println!(
                "{:>4} bytes: oxc parse {oxc:.0} MB/s, js {js:.0} MB/s, python {py:.0}, powershell {ps:.0}, shape {shape_only:.0}, all {all:.0}",
                s.len()
            );
        }
    }
}
