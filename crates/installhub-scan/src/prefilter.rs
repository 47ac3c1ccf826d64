//! The one pass every string pays for. It answers which detectors a string
//! needs (code, template, literal), and for almost all clean text: none.
//!
//! It is a tokenizer, not an automaton. A byte table splits the text into
//! identifier tokens (`[A-Za-z0-9_]+`) and a few trigger symbols:
//!
//! - a token is looked up only if its (length, first letter, last letter)
//!   shape is one a keyword has (a 2 KiB bit table, so most prose words cost
//!   three lookups), then by its lower-case form in a small map, then the
//!   keyword's own check runs: exact case for case-sensitive languages
//!   (`eval`, `Function`), any case for PowerShell/VBScript/SQL words
//!   (`iex`, `Invoke-Expression`), the next byte for calls (`require(` but
//!   not "required"), a token prefix for secrets (`AKIA…`, `ghp_…`, `eyJ…`);
//! - a symbol checks its neighbours: `\x`/`\u`/octal escapes, `"…" + "…"`,
//!   a backtick inside a word (PowerShell), `{{`, `{%`, `${`, `#{`, `<%`,
//!   `&#`, `[char]`, `?new`, `-----BEGIN`, `://` (with `http` before it or
//!   `user:password@` after it), and `=`/`:` after a secret-like name.
//!
//! An Aho-Corasick automaton over the same ~150 keywords (ASCII
//! case-insensitive, overlapping) was the first version; on this service's
//! definitions (many short strings, long scripts) it ran at about 350–500
//! MB/s, bound by table lookups per byte, which left no room for the rest of
//! the scan within 300 MB/s. The tokenizer does a table lookup per byte and
//! hashes almost nothing.
//!
//! It must never hide what the detectors would find: the unit test
//! `prefilter_never_changes_findings` scans generated strings with and
//! without it and requires identical findings.

use std::collections::HashMap;

/// The detectors a string needs, as bits.
///
/// Code rules on the raw and normalized text (template-escape patterns
/// included).
pub(crate) const NEEDS_CODE: u8 = 1;
/// Template-escape patterns on the raw text: a template opener and
/// something dangerous inside one (a dunder, `T(`, a nested `${`, ...).
pub(crate) const NEEDS_TEMPLATE: u8 = 2;
/// Secrets and plain http on the raw text.
pub(crate) const NEEDS_LITERAL: u8 = 4;
/// A placeholder opener: template injection, if the field is executable.
/// `{{input.x}}` alone needs nothing else.
pub(crate) const NEEDS_PLACEHOLDER: u8 = 8;
pub(crate) const NEEDS_ALL: u8 = NEEDS_CODE | NEEDS_TEMPLATE | NEEDS_LITERAL | NEEDS_PLACEHOLDER;

const CODE: u8 = NEEDS_CODE;
const LITERAL: u8 = NEEDS_LITERAL;
const PLACEHOLDER: u8 = NEEDS_PLACEHOLDER;
/// Internal: something that is dangerous inside a template.
const DANGER: u8 = 16;
/// Internal: a backtick outside a word, dangerous only inside `<% %>`.
const BACKTICK: u8 = 32;
/// Internal: a `<%` opener.
const ERB: u8 = 64;

/// What a token equal (ignoring case) to a keyword must also satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Exact case (case-sensitive languages).
    Exact,
    /// Any case (PowerShell, VBScript, SQL, prose markers).
    Ci,
    /// Exact case, and the next non-blank byte opens a call or a comment
    /// (`import(`, `require (`, `system/**/(`), or the word is a whole quoted
    /// literal (`global['require']`). Keeps prose ("import the package")
    /// out of the slow path.
    Call,
    /// `join` after an array literal (`[..].join`) or a `reverse()`.
    Join,
    /// Any case, followed by `-` (`Invoke-Expression`).
    Dash,
    /// Any case, followed by `.` (`Shell.Application`, `hooks.slack.com`).
    Dot,
    /// Any case, followed by `-process` (`Start-Process`).
    StartProcess,
}

use Check::{Call, Ci, Dash, Dot, Exact, Join, StartProcess};

const KEYWORDS: &[(&str, Check, u8)] = &[
    // Code evaluation.
    ("eval", Exact, CODE),
    ("Function", Exact, CODE),
    ("setTimeout", Exact, CODE),
    ("setInterval", Exact, CODE),
    ("setImmediate", Exact, CODE),
    ("execScript", Exact, CODE),
    ("exec", Exact, CODE),
    ("constructor", Exact, CODE),
    ("runInNewContext", Exact, CODE),
    ("runInThisContext", Exact, CODE),
    ("runInContext", Exact, CODE),
    ("compileFunction", Exact, CODE),
    ("vm", Exact, CODE),
    ("ScriptEngineManager", Exact, CODE),
    ("getEngineByName", Exact, CODE),
    ("GroovyShell", Exact, CODE),
    ("iex", Ci, CODE),
    ("invoke", Dash, CODE),
    ("executeglobal", Ci, CODE),
    ("sp_executesql", Ci, CODE),
    // Process spawning.
    ("child_process", Exact, CODE),
    ("execSync", Exact, CODE),
    ("execFile", Exact, CODE),
    ("execFileSync", Exact, CODE),
    ("spawn", Exact, CODE),
    ("spawnSync", Exact, CODE),
    ("getRuntime", Exact, CODE),
    ("Runtime", Exact, CODE),
    ("ProcessBuilder", Exact, CODE),
    ("ProcessStartInfo", Exact, CODE),
    ("Process", Exact, CODE),
    ("diagnostics", Ci, CODE),
    ("os", Exact, CODE),
    ("subprocess", Exact, CODE),
    ("system", Call, CODE),
    ("popen", Call, CODE),
    ("shell_exec", Exact, CODE),
    ("passthru", Exact, CODE),
    ("proc_open", Exact, CODE),
    ("pcntl_exec", Exact, CODE),
    ("Open3", Exact, CODE),
    ("Deno", Exact, CODE),
    ("Bun", Exact, CODE),
    ("start", StartProcess, CODE),
    ("wscript", Ci, CODE),
    ("shell", Dot, CODE),
    ("xp_cmdshell", Ci, CODE),
    ("pty", Exact, CODE),
    // Module loading.
    ("require", Call, CODE),
    ("import", Call, CODE),
    ("__import__", Exact, CODE),
    ("importlib", Exact, CODE),
    ("importScripts", Exact, CODE),
    ("Assembly", Exact, CODE),
    ("forName", Exact, CODE),
    ("loadLibrary", Exact, CODE),
    ("System", Exact, CODE),
    ("mainModule", Exact, CODE),
    ("binding", Exact, CODE),
    ("_linkedBinding", Exact, CODE),
    ("dlopen", Exact, CODE),
    // Prototype pollution.
    ("__proto__", Exact, CODE),
    ("prototype", Exact, CODE),
    // Template escapes outside `{{ }}`.
    ("freemarker", Ci, CODE),
    ("getClass", Exact, CODE),
    ("jndi", Ci, DANGER),
    ("lipsum", Exact, DANGER),
    ("cycler", Exact, DANGER),
    ("joiner", Exact, DANGER),
    // Obfuscation: decoders and assemblers.
    ("fromCharCode", Exact, CODE),
    ("fromCodePoint", Exact, CODE),
    ("chr", Call, CODE),
    ("atob", Exact, CODE),
    ("unescape", Exact, CODE),
    ("decodeURI", Exact, CODE),
    ("decodeURIComponent", Exact, CODE),
    ("concat", Exact, CODE),
    ("join", Join, CODE),
    ("reverse", Exact, CODE),
    ("base64", Ci, CODE),
    ("b64decode", Exact, CODE),
    ("urlsafe_b64decode", Exact, CODE),
    ("base64_decode", Exact, CODE),
    ("decode64", Exact, CODE),
    ("decodeBase64", Exact, CODE),
    ("FromBase64String", Exact, CODE),
    ("powershell", Ci, CODE),
    ("pwsh", Ci, CODE),
    // Secrets.
    ("bearer", Ci, LITERAL),
    ("hooks", Dot, LITERAL),
];

/// Longest keyword token the map holds.
const MAX_WORD: usize = 24;

const SEPARATOR: u8 = 0;
const IDENT: u8 = 1;
const SYMBOL: u8 = 2;

static CLASS: [u8; 256] = {
    let mut table = [SEPARATOR; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        // `$` separates tokens here (it is a JavaScript identifier byte): the
        // detectors never need it inside a keyword, and `${` is a symbol.
        if c.is_ascii_alphanumeric() || c == b'_' {
            table[b] = IDENT;
        }
        b += 1;
    }
    // `(` and `|` trigger nothing here; they are symbols so that the same
    // pass tells the code analysis whether a string could hold code.
    let symbols = b"\\`+{}$#<&?[-:=(|";
    let mut i = 0;
    while i < symbols.len() {
        table[symbols[i] as usize] = SYMBOL;
        i += 1;
    }
    table
};

fn letter_index(b: u8) -> usize {
    let l = b.to_ascii_lowercase();
    if l.is_ascii_lowercase() {
        (l - b'a') as usize
    } else {
        26
    }
}

fn shape_bit(len: usize, first: u8, last: u8) -> usize {
    (len * 27 + letter_index(first)) * 27 + letter_index(last)
}

/// What the prefilter's pass learnt of a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Signals {
    /// The detectors it needs (`NEEDS_*` bits).
    pub(crate) needs: u8,
    /// It holds a `(`, `[`, a backtick, `&` or `|`: it could hold a call, a
    /// computed access, a tagged template or a PowerShell invocation or
    /// pipeline, so the code analysis looks at it.
    pub(crate) code_bytes: bool,
}

fn is_code_byte(b: u8) -> bool {
    matches!(b, b'(' | b'[' | b'`' | b'&' | b'|')
}

/// [`Signals::code_bytes`] of `bytes`, for text the pass did not read to
/// the end (or did not read: the prefilter switched off).
pub(crate) fn has_code_byte(bytes: &[u8]) -> bool {
    memchr::memchr3(b'(', b'[', b'`', bytes).is_some()
        || memchr::memchr2(b'&', b'|', bytes).is_some()
}

pub(crate) struct Prefilter {
    /// One bit per (length, first letter, last letter) a keyword has.
    shapes: Vec<u64>,
    /// Lower-case keyword → its rows in `KEYWORDS`.
    words: HashMap<Vec<u8>, Vec<usize>>,
}

impl Prefilter {
    pub(crate) fn new() -> Prefilter {
        let mut shapes = vec![0u64; (MAX_WORD + 1) * 27 * 27 / 64 + 1];
        let mut words: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
        for (row, (word, _, _)) in KEYWORDS.iter().enumerate() {
            let bytes = word.as_bytes();
            assert!(bytes.len() <= MAX_WORD, "keyword {word} too long");
            let bit = shape_bit(bytes.len(), bytes[0], bytes[bytes.len() - 1]);
            shapes[bit / 64] |= 1 << (bit % 64);
            // Keys are stored lower-case; lookups lower-case the token.
            words
                .entry(bytes.to_ascii_lowercase())
                .or_default()
                .push(row);
        }
        Prefilter { shapes, words }
    }

    /// The detectors `text` needs (`NEEDS_*` bits); 0 for clean text.
    #[cfg(test)]
    pub(crate) fn needs(&self, text: &str) -> u8 {
        self.signals(text).needs
    }

    /// The detectors `text` needs, and whether it holds a byte that code
    /// worth parsing needs (see [`Signals::code_bytes`]), in one pass.
    pub(crate) fn signals(&self, text: &str) -> Signals {
        let b = text.as_bytes();
        let n = b.len();
        let mut needs = 0u8;
        let mut code_bytes = false;
        // A `${` not yet closed by `}`: a second one inside is a nested
        // lookup (`${${lower:j}ndi:…}`).
        let mut open_dollar = false;
        let mut i = 0;
        while i < n {
            match CLASS[b[i] as usize] {
                IDENT => {
                    let start = i;
                    i += 1;
                    while i < n && CLASS[b[i] as usize] == IDENT {
                        i += 1;
                    }
                    needs |= self.token(b, start, i);
                }
                SYMBOL => {
                    code_bytes |= is_code_byte(b[i]);
                    match b[i] {
                        b'$' if b.get(i + 1) == Some(&b'{') => {
                            if open_dollar {
                                needs |= DANGER;
                            }
                            open_dollar = true;
                        }
                        b'}' => open_dollar = false,
                        _ => {}
                    }
                    needs |= symbol(b, i);
                    i += 1;
                    if needs & (NEEDS_CODE | NEEDS_LITERAL) == NEEDS_CODE | NEEDS_LITERAL {
                        // Code implies the template patterns; nothing is
                        // left to learn but the code bytes.
                        return Signals {
                            needs: NEEDS_ALL,
                            code_bytes: code_bytes || has_code_byte(&b[i..]),
                        };
                    }
                }
                _ => i += 1,
            }
        }
        if needs & (BACKTICK | ERB) == BACKTICK | ERB {
            needs |= DANGER;
        }
        if needs & (PLACEHOLDER | DANGER) == PLACEHOLDER | DANGER {
            needs |= NEEDS_TEMPLATE;
        }
        Signals {
            needs: needs & NEEDS_ALL,
            code_bytes,
        }
    }

    #[inline]
    fn token(&self, b: &[u8], start: usize, end: usize) -> u8 {
        let token = &b[start..end];
        let len = token.len();
        let mut needs = 0;
        if len >= 3 {
            needs |= token_prefix(b, start, end);
        } else if len == 1
            && token[0] == b'T'
            && matches!(next_non_blank(b, end), Some(b'(' | b'/'))
        {
            // SpEL `T(java.lang.Runtime)`.
            needs |= DANGER;
        }
        if len > MAX_WORD {
            return needs;
        }
        let bit = shape_bit(len, token[0], token[len - 1]);
        if self.shapes[bit / 64] & (1 << (bit % 64)) == 0 {
            return needs;
        }
        needs | self.keyword(b, start, end)
    }

    /// The keyword table for a token whose shape matched (the rare case).
    #[inline(never)]
    fn keyword(&self, b: &[u8], start: usize, end: usize) -> u8 {
        let token = &b[start..end];
        let len = token.len();
        let mut needs = 0;
        let mut lower = [0u8; MAX_WORD];
        for (l, t) in lower.iter_mut().zip(token) {
            *l = t.to_ascii_lowercase();
        }
        let Some(rows) = self.words.get(&lower[..len]) else {
            return needs;
        };
        for &row in rows {
            let (word, check, category) = KEYWORDS[row];
            if accept(b, start, end, word.as_bytes(), check) {
                needs |= category;
            }
        }
        needs
    }
}

/// Secrets that start a token.
#[inline]
fn token_prefix(b: &[u8], start: usize, end: usize) -> u8 {
    let t = &b[start..end];
    let mut needs = 0;
    if t.len() > 4 && t.starts_with(b"__") && t.ends_with(b"__") {
        // Python dunders (`__class__`, `__globals__`) reach the runtime from a template.
        needs |= DANGER;
    }
    match t[0] {
        b'A' if t.len() >= 20 => {
            const AWS: [&[u8]; 12] = [
                b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"AGPA", b"AIDA", b"AIPA", b"ANPA", b"ANVA",
                b"APKA", b"AROA", b"ASCA",
            ];
            if AWS.contains(&&t[..4])
                && t[4..20]
                    .iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            {
                needs |= LITERAL;
            }
        }
        b'g' if (t.len() > 4
            && t[1] == b'h'
            && matches!(t[2], b'p' | b'o' | b'u' | b's' | b'r')
            && t[3] == b'_')
            || t.starts_with(b"github_pat_") =>
        {
            needs |= LITERAL;
        }
        b'e' if t.starts_with(b"eyJ")
            && (start == 0 || !matches!(b[start - 1], b'+' | b'/' | b'-')) =>
        {
            needs |= LITERAL;
        }
        b'x' if t.len() == 4
            && t.starts_with(b"xox")
            && matches!(t[3], b'a' | b'b' | b'e' | b'o' | b'p' | b'r' | b's')
            && b.get(end) == Some(&b'-') =>
        {
            needs |= LITERAL;
        }
        _ => {}
    }
    needs
}

fn next_non_blank(hay: &[u8], from: usize) -> Option<u8> {
    hay.get(from..)?
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace())
}

fn prev_non_blank(hay: &[u8], before: usize) -> Option<u8> {
    hay[..before]
        .iter()
        .rev()
        .copied()
        .find(|b| !b.is_ascii_whitespace())
}

fn accept(b: &[u8], start: usize, end: usize, word: &[u8], check: Check) -> bool {
    let exact = || &b[start..end] == word;
    let quote = |c: Option<&u8>| matches!(c, Some(b'"' | b'\'' | b'`'));
    match check {
        Exact => exact(),
        Ci => true,
        Call => {
            exact()
                && (matches!(next_non_blank(b, end), Some(b'(' | b'/' | b'\\'))
                    || (start > 0 && quote(b.get(start - 1)) && quote(b.get(end))))
        }
        Join => {
            exact() && {
                let before = b[..start].trim_ascii_end();
                let before = before.strip_suffix(b".").unwrap_or(before).trim_ascii_end();
                before.ends_with(b"]")
                    || before.ends_with(b"/")
                    || b[start.saturating_sub(24)..start]
                        .windows(7)
                        .any(|w| w == b"reverse")
            }
        }
        Dash => b.get(end) == Some(&b'-'),
        Dot => matches!(next_non_blank(b, end), Some(b'.' | b'/')),
        StartProcess => b
            .get(end..end + 8)
            .is_some_and(|s| s.eq_ignore_ascii_case(b"-process")),
    }
}

/// Names whose `=` or `:` starts a hard-coded secret
/// (`password=`, `"apiKey": "`, `DB_PASSWORD=`).
fn secret_name_before(b: &[u8], at: usize) -> bool {
    let mut j = at;
    while j > 0 && b[j - 1].is_ascii_whitespace() {
        j -= 1;
    }
    if j > 0 && matches!(b[j - 1], b'"' | b'\'') {
        j -= 1;
    }
    // Every stem ends in d, t, y or n: most `=` and `:` stop here.
    if j == 0 || !matches!(b[j - 1].to_ascii_lowercase(), b'd' | b't' | b'y' | b'n') {
        return false;
    }
    let mut k = j;
    while k > 0
        && j - k < 32
        && (b[k - 1].is_ascii_alphanumeric() || matches!(b[k - 1], b'_' | b'-'))
    {
        k -= 1;
    }
    if k == j {
        return false;
    }
    let name = &b[k..j];
    const STEMS: &[&[u8]] = &[
        b"password",
        b"passwd",
        b"pwd",
        b"secret",
        b"apikey",
        b"api_key",
        b"api-key",
        b"accesskey",
        b"access_key",
        b"access-key",
        b"privatekey",
        b"private_key",
        b"private-key",
        b"token",
    ];
    STEMS
        .iter()
        .any(|s| name.len() >= s.len() && name[name.len() - s.len()..].eq_ignore_ascii_case(s))
}

/// `scheme://user:password@` after `://` at `at`.
fn url_credentials(b: &[u8], at: usize) -> bool {
    let mut colon = false;
    for &c in &b[at..] {
        match c {
            b'/' | b'"' | b'\'' | b'<' | b'>' => return false,
            c if c.is_ascii_whitespace() => return false,
            b':' => colon = true,
            b'@' if colon => return true,
            _ => {}
        }
    }
    false
}

fn symbol(b: &[u8], i: usize) -> u8 {
    let next = b.get(i + 1).copied();
    match b[i] {
        b'\\' if matches!(next, Some(b'x' | b'u' | b'U' | b'0'..=b'7')) => CODE,
        // A backtick inside a word is a PowerShell escape; anywhere else it
        // is dangerous inside `<% %>` (Ruby shell-out).
        b'`' if i > 0
            && b[i - 1].is_ascii_alphabetic()
            && next.is_some_and(|c| c.is_ascii_alphabetic()) =>
        {
            CODE
        }
        b'`' => BACKTICK,
        b'+' => {
            let quote_or_comment = |c: Option<u8>| matches!(c, Some(b'"' | b'\'' | b'`' | b'/'));
            if quote_or_comment(prev_non_blank(b, i)) && quote_or_comment(next_non_blank(b, i + 1))
            {
                CODE
            } else {
                0
            }
        }
        b'{' if matches!(next, Some(b'{' | b'%')) => PLACEHOLDER,
        b'$' | b'#' if next == Some(b'{') => PLACEHOLDER,
        b'<' if next == Some(b'%') => PLACEHOLDER | ERB,
        b'&' if next == Some(b'#') => CODE,
        b'?' if b.get(i + 1..i + 4) == Some(b"new") => CODE,
        b'[' if b
            .get(i + 1..i + 6)
            .is_some_and(|s| s.eq_ignore_ascii_case(b"char]")) =>
        {
            CODE
        }
        b'-' if b.get(i + 1..i + 10) == Some(b"----BEGIN") => LITERAL,
        b':' => {
            let mut needs = 0;
            if b.get(i + 1..i + 3) == Some(b"//") {
                if i >= 4 && b[i - 4..i].eq_ignore_ascii_case(b"http") {
                    needs |= LITERAL;
                }
                if url_credentials(b, i + 3) {
                    needs |= LITERAL;
                }
            }
            if secret_name_before(b, i) {
                needs |= LITERAL;
            }
            needs
        }
        b'=' if secret_name_before(b, i) => LITERAL,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_needs_nothing() {
        let p = Prefilter::new();
        for clean in [
            "Send the onboarding email to the new employee",
            "https://api.company.com/v2/users",
            "evaluate the medieval evaluation",
            "required",
            "function add(a, b) { return a + b; }",
            "Import the package and process the order",
            "The system will notify the manager",
            "line one\\nline two",
            "ProcessDefinition",
            "params['amount']",
            "parts.map(p => p.trim()).join(' ')",
            "const total = price * qty; total == 3",
            "start-date",
            "{{input.recordId}}",
            "const s = `Ref ${a}/${b}`;",
        ] {
            assert_eq!(
                p.needs(clean) & !NEEDS_PLACEHOLDER,
                0,
                "{clean:?} should need nothing"
            );
        }
        for clean in [
            "Send the onboarding email to the new employee",
            "const total = price * qty; total == 3",
        ] {
            assert_eq!(p.needs(clean), 0, "{clean:?} should need nothing");
        }
    }

    #[test]
    fn signals_need_detectors() {
        let p = Prefilter::new();
        for (dirty, needs) in [
            ("eval(x)", NEEDS_CODE),
            ("x = \"ev\" + \"al\"", NEEDS_CODE),
            ("\\x65val(1)", NEEDS_CODE),
            ("window['ev'+'al']", NEEDS_CODE),
            ("require ('fs')", NEEDS_CODE),
            ("global['require']", NEEDS_CODE),
            ("import(\"fs\")", NEEDS_CODE),
            ("os.system('ls')", NEEDS_CODE),
            ("{\"__proto__\": 1}", NEEDS_CODE),
            ("iEx $x", NEEDS_CODE),
            ("InVoKe-ExPrEsSiOn", NEEDS_CODE),
            ("I`nv`oke", NEEDS_CODE),
            ("Buffer.from(x, 'base64')", NEEDS_CODE),
            ("{{input.x}}", NEEDS_PLACEHOLDER),
            ("{{ x.__class__ }}", NEEDS_PLACEHOLDER | NEEDS_TEMPLATE),
            (
                "${T(java.lang.Runtime)}",
                NEEDS_PLACEHOLDER | NEEDS_TEMPLATE,
            ),
            ("${${lower:j}ndi:x}", NEEDS_PLACEHOLDER | NEEDS_TEMPLATE),
            ("<%= `id` %>", NEEDS_PLACEHOLDER | NEEDS_TEMPLATE),
            ("${jndi:ldap://x}", NEEDS_TEMPLATE),
            ("AKIAABCDEFGHIJKLMNOP", NEEDS_LITERAL),
            ("http://example.org", NEEDS_LITERAL),
            ("https://user:pw@host", NEEDS_LITERAL),
            ("Bearer abc", NEEDS_LITERAL),
            ("Password=abc;", NEEDS_LITERAL),
            ("\"api-key\": \"x\"", NEEDS_LITERAL),
            ("ghp_abcdefgh", NEEDS_LITERAL),
            ("a.eyJhbGci", NEEDS_LITERAL),
            ("xoxb-1234", NEEDS_LITERAL),
            ("-----BEGIN RSA PRIVATE KEY-----", NEEDS_LITERAL),
        ] {
            assert_eq!(p.needs(dirty) & needs, needs, "{dirty:?}");
        }
    }
}
