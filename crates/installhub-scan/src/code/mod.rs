//! Code analysis: strings that hold code are parsed, and the syntax tree is
//! judged by what the code can reach (dynamic code, processes, modules, the
//! host's global objects), not by how it is spelled. Issue: spelling-based
//! rules invite the next spelling (`eval?.(x)`, `(0, eval)(x)`,
//! ``Function`…` ``, `this[(693741).toString(36)]`); a syntax tree has one
//! shape for all of them: a reference to `eval`, a call, a computed key on a
//! global object.
//!
//! Which strings are parsed: those that could hold a call, a computed member
//! access or a tagged template (a `(`, `[` or backtick), or a PowerShell
//! invocation (`&`, `$`, `|`), and every string of an executable field
//! (`script`, `expression`, `condition`, …). Prose and data without those
//! bytes cost one `memchr` pass. Each parser judges what it can parse:
//!
//! - JavaScript with oxc ([`js`]), as a script (top-level `return` allowed,
//!   as platform script steps are function bodies) and, failing that, as a
//!   module;
//! - Python with rustpython ([`python`]);
//! - PowerShell with our own tokenizer ([`powershell`]): no maintained
//!   PowerShell parser exists on crates.io.
//!
//! A string that none of them accepts is still checked by the spelling
//! rules in `detect.rs` (with their decoding of escapes, concatenation and
//! base64); an engine would refuse to run it as code.
//!
//! The bodies of template placeholders (`{{ … }}`, `${ … }`) are analysed as
//! JavaScript expressions too: that is where low-code platforms evaluate
//! them.

mod js;
mod powershell;
mod python;

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

/// Whether a string could hold code worth parsing.
pub(crate) fn looks_like_code(text: &str, executable_field: bool) -> bool {
    if text.len() < 3 {
        return false;
    }
    if executable_field {
        return true;
    }
    let bytes = text.as_bytes();
    memchr::memchr3(b'(', b'[', b'`', bytes).is_some()
        || memchr::memchr2(b'&', b'|', bytes).is_some()
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

/// An upper bound of how deep a parser can recurse on `bytes` (every level
/// of recursion consumes at least one token), and the deepest bracket
/// nesting.
fn shape(bytes: &[u8]) -> (usize, usize) {
    let (mut tokens, mut depth, mut nesting) = (0usize, 0usize, 0usize);
    let mut in_word = false;
    for &b in bytes {
        let word = b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
        if word {
            tokens += usize::from(!in_word);
        } else if !b.is_ascii_whitespace() {
            tokens += 1;
        }
        in_word = word;
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                nesting = nesting.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
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
/// pages that are not touched cost nothing), and text too large or too
/// deeply nested to judge is refused in an executable field.
pub(crate) fn analyze(text: &str, executable_field: bool, out: &mut Findings) -> bool {
    let (tokens, nesting) = shape(text.as_bytes());
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
        parse_and_judge(text, executable_field, out)
    })
}

fn parse_and_judge(text: &str, executable_field: bool, out: &mut Findings) -> bool {
    let bytes = text.as_bytes();
    let js_like = memchr::memchr3(b'(', b'[', b'`', bytes).is_some();
    let mut parsed = false;
    if js_like || executable_field {
        // Both, as a Python line is often valid JavaScript too
        // (`globals()[k](x)`); Python skips text that names nothing its
        // rules look for.
        let js = js::analyze(text, out);
        let python = python::analyze(text, out);
        parsed = js || python;
    }
    // Text that is valid JavaScript or Python is judged by PowerShell's
    // unambiguous rules only (`start(x)` or `cmd = x` are not commands
    // there), and only when it names something those rules look for.
    if !parsed || POWERSHELL_MARKERS.is_match(bytes) {
        powershell::analyze(text, !parsed, out);
    }
    for body in placeholder_bodies(text) {
        js::analyze_expression(body, out);
    }
    parsed
}

/// What PowerShell's unambiguous rules look for, in any case: the names,
/// an `-e…` switch, a `::` static member, or a backtick inside a word
/// (which may hide any name).
static POWERSHELL_MARKERS: std::sync::LazyLock<regex::bytes::Regex> =
    std::sync::LazyLock::new(|| {
        regex::bytes::Regex::new(r"(?i-u)iex|invoke|scriptblock|\s-e[a-z]*\s|::|[a-z]`[a-z]")
            .expect("the PowerShell marker regex is valid")
    });

/// The bodies of `{{ … }}` and `${ … }` placeholders that contain a call
/// or a computed access, the shapes worth a parse.
fn placeholder_bodies(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find("{{").map(|i| (i, 2, "}}"));
            let dollar = rest.find("${").map(|i| (i, 2, "}"));
            let (i, open, close) = match (start, dollar) {
                (Some(a), Some(b)) => {
                    if a.0 <= b.0 {
                        a
                    } else {
                        b
                    }
                }
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => return None,
            };
            let after = &rest[i + open..];
            let end = after.find(close)?;
            let body = &after[..end];
            rest = &after[end + close.len()..];
            if body.contains(['(', '[', '`']) {
                return Some(body);
            }
        }
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
