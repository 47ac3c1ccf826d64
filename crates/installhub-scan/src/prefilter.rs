//! The one pass every string pays for. It answers which detectors a string
//! needs (code, template, literal), and for almost all clean text: none.
//!
//! It is a tokenizer, not an automaton. SIMD compares (64 bytes at a time,
//! for text of 32 bytes or more) or a byte table (shorter text) split the
//! text into identifier tokens (`[A-Za-z0-9_]+`) and a few trigger symbols,
//! and short strings, which definitions repeat all the time (keys,
//! enumerations, placeholders), are answered from a per-thread memo:
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

use rustc_hash::FxHashMap;
use wide::u8x16;

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
/// Internal: a name Python's rules judge ([`Signals::python_names`]).
const PYTHON: u8 = 128;

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
    /// Exact case, and not an attribute (no `.` before it): a name
    /// Python's rules judge (`exec`, `os`, `getattr`, but not `re.compile`
    /// or JavaScript's `.exec`).
    PythonName,
}

/// A keyword, what a token equal to it must also satisfy, and the bits it
/// sets.
type Keyword = (&'static str, Check, u8);

use Check::{Call, Ci, Dash, Dot, Exact, Join, PythonName, StartProcess};

const KEYWORDS: &[Keyword] = &[
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

/// Per byte: its letter's index, ignoring case (`a`–`z` → 0–25), and 26
/// for every other byte.
static LETTER: [u8; 256] = {
    let mut table = [26u8; 256];
    let mut b = 0;
    while b < 26 {
        table[b'a' as usize + b] = b as u8;
        table[b'A' as usize + b] = b as u8;
        b += 1;
    }
    table
};

/// The first bytes of the tokens [`rare_token`] checks (secrets, dunders,
/// SpEL's `T(`): every other token skips it.
static RARE_FIRST: [bool; 256] = {
    let mut table = [false; 256];
    let firsts = b"_AgexT";
    let mut i = 0;
    while i < firsts.len() {
        table[firsts[i] as usize] = true;
        i += 1;
    }
    table
};

#[inline]
fn shape_bit(len: usize, first: u8, last: u8) -> usize {
    (len * 27 + usize::from(LETTER[usize::from(first)])) * 27
        + usize::from(LETTER[usize::from(last)])
}

/// Strings shorter than this are remembered ([`Memo`]).
const MEMO_BELOW: usize = 32;

/// Slots of the [`Memo`] (a power of two).
const MEMO_SLOTS: usize = 1024;

/// The answers for the short strings a thread met last, in a direct-mapped
/// table (1,024 slots of 40 bytes per thread, no allocation after the
/// first use). Definitions repeat their short strings all the time: every
/// object's keys (`id`, `type`, `name`), enumerations (`GET`, `email`),
/// placeholders (`{{input.recordId}}`); a hit costs a hash and a 32-byte
/// comparison instead of the pass. The answer is a function of the text
/// alone (every [`Prefilter`] holds the same tables), and a slot matches
/// only the exact same bytes, so the memo cannot change a result: the
/// proptest `prefilter_never_changes_findings` runs through it.
struct Memo {
    slots: Vec<MemoSlot>,
}

#[derive(Clone, Copy)]
struct MemoSlot {
    /// The text, padded with NUL bytes.
    text: [u8; MEMO_BELOW],
    /// Its length; `u8::MAX` marks an empty slot.
    len: u8,
    signals: Signals,
}

impl Memo {
    fn lookup(b: &[u8], pass: impl FnOnce(&[u8]) -> Signals) -> Signals {
        thread_local! {
            static MEMO: std::cell::RefCell<Memo> = std::cell::RefCell::new(Memo {
                slots: vec![
                    MemoSlot {
                        text: [0; MEMO_BELOW],
                        len: u8::MAX,
                        signals: Signals { needs: 0, code_bytes: false, python_names: false },
                    };
                    MEMO_SLOTS
                ],
            });
        }
        let mut text = [0u8; MEMO_BELOW];
        text[..b.len()].copy_from_slice(b);
        let len = b.len() as u8;
        let words: [u64; 4] = std::array::from_fn(|i| {
            u64::from_le_bytes(text[i * 8..i * 8 + 8].try_into().expect("8 bytes"))
        });
        let hash = (words[0]
            ^ words[1].rotate_left(16)
            ^ words[2].rotate_left(32)
            ^ words[3].rotate_left(48)
            ^ u64::from(len))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let index = (hash >> (64 - MEMO_SLOTS.trailing_zeros())) as usize;
        MEMO.with_borrow_mut(|memo| {
            let slot = &mut memo.slots[index];
            if slot.len == len && slot.text == text {
                return slot.signals;
            }
            let signals = pass(b);
            *slot = MemoSlot { text, len, signals };
            signals
        })
    }
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
    /// It names something Python's rules judge, as a whole word that is
    /// not an attribute ([`crate::code::PYTHON_NAMES`]); without one (and
    /// without a dunder) the text is not parsed as Python.
    pub(crate) python_names: bool,
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

/// Text this long or longer is classified with SIMD: below, the
/// byte-by-byte pass is cheaper (measured on the benchmark corpus, where
/// nine strings in ten are shorter than 32 bytes).
const SIMD_FROM: usize = 32;

/// What a pass has learnt so far.
#[derive(Default)]
struct Pass {
    needs: u8,
    code_bytes: bool,
    /// A `${` not yet closed by `}`: a second one inside is a nested
    /// lookup (`${${lower:j}ndi:…}`).
    open_dollar: bool,
}

impl Pass {
    /// The symbol at `b[i]` (a [`SYMBOL`] byte).
    #[inline]
    fn symbol(&mut self, b: &[u8], i: usize) {
        self.code_bytes |= is_code_byte(b[i]);
        match b[i] {
            b'$' if b.get(i + 1) == Some(&b'{') => {
                if self.open_dollar {
                    self.needs |= DANGER;
                }
                self.open_dollar = true;
            }
            b'}' => self.open_dollar = false,
            _ => {}
        }
        self.needs |= symbol(b, i);
    }

    /// Code and a literal: every detector runs (code implies the template
    /// patterns), so nothing is left to learn but whether the `rest` not
    /// yet read holds a code byte.
    #[inline]
    fn knows_all(&mut self, rest: &[u8]) -> bool {
        if self.needs & (NEEDS_CODE | NEEDS_LITERAL) != NEEDS_CODE | NEEDS_LITERAL {
            return false;
        }
        self.code_bytes = self.code_bytes || has_code_byte(rest);
        true
    }

    fn finish(mut self, stopped_early: bool) -> Signals {
        if stopped_early || self.knows_all(&[]) {
            return Signals {
                needs: NEEDS_ALL,
                code_bytes: self.code_bytes,
                python_names: true,
            };
        }
        if self.needs & (BACKTICK | ERB) == BACKTICK | ERB {
            self.needs |= DANGER;
        }
        if self.needs & (PLACEHOLDER | DANGER) == PLACEHOLDER | DANGER {
            self.needs |= NEEDS_TEMPLATE;
        }
        Signals {
            needs: self.needs & NEEDS_ALL,
            code_bytes: self.code_bytes,
            python_names: self.needs & PYTHON != 0,
        }
    }
}

/// Bit k of the first mask: byte k of `block` (at most 64 bytes) is an
/// identifier byte (`[A-Za-z0-9_]`, [`IDENT`] in [`CLASS`]); of the second:
/// it is printable ASCII punctuation, which holds every [`SYMBOL`]. Sixteen
/// bytes per step with `wide`'s portable SIMD (safe code; SSE2 on x86-64);
/// a short last lane is padded with NUL bytes, which are neither.
#[inline]
fn classify(block: &[u8]) -> (u64, u64) {
    let splat = u8x16::splat;
    let mut ident = 0u64;
    let mut punct = 0u64;
    for (k, lane) in block.chunks(16).enumerate() {
        let v = match <[u8; 16]>::try_from(lane) {
            Ok(full) => u8x16::new(full),
            Err(_) => {
                let mut padded = [0u8; 16];
                padded[..lane.len()].copy_from_slice(lane);
                u8x16::new(padded)
            }
        };
        // Wrapping differences turn each range test into one comparison.
        let letter = ((v | splat(0x20)) - splat(b'a')).simd_lt(splat(26));
        let digit = (v - splat(b'0')).simd_lt(splat(10));
        let word = letter | digit | v.simd_eq(splat(b'_'));
        let printable = (v - splat(0x21)).simd_lt(splat(0x7f - 0x21));
        ident |= u64::from(word.to_bitmask()) << (16 * k);
        punct |= u64::from((printable & !word).to_bitmask()) << (16 * k);
    }
    (ident, punct)
}

pub(crate) struct Prefilter {
    /// One bit per (length, first letter, last letter) a keyword has.
    shapes: Vec<u64>,
    /// Lower-case keyword → its rows (of [`KEYWORDS`] and Python's names).
    words: FxHashMap<Vec<u8>, Vec<Keyword>>,
}

impl Prefilter {
    pub(crate) fn new() -> Prefilter {
        let mut shapes = vec![0u64; (MAX_WORD + 1) * 27 * 27 / 64 + 1];
        let mut words: FxHashMap<Vec<u8>, Vec<Keyword>> = FxHashMap::default();
        let python = crate::code::PYTHON_NAMES
            .iter()
            .map(|&word| (word, PythonName, PYTHON));
        for (word, check, category) in KEYWORDS.iter().copied().chain(python) {
            let bytes = word.as_bytes();
            assert!(bytes.len() <= MAX_WORD, "keyword {word} too long");
            let bit = shape_bit(bytes.len(), bytes[0], bytes[bytes.len() - 1]);
            shapes[bit / 64] |= 1 << (bit % 64);
            // Keys are stored lower-case; lookups lower-case the token.
            words
                .entry(bytes.to_ascii_lowercase())
                .or_default()
                .push((word, check, category));
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
    ///
    /// Text of [`SIMD_FROM`] bytes or more is classified 64 bytes at a time
    /// with SIMD ([`classify`]), and the pass visits only what the bits
    /// point at: the edges of identifier tokens and the punctuation. Plain
    /// runs of letters and blanks cost about one instruction per 16 bytes
    /// instead of a table lookup and a branch per byte. Shorter text (most
    /// keys and values) is read byte by byte: setting up the blocks would
    /// cost more than it saves. Both visit the same tokens and symbols, in
    /// order, and give the same answer (`simd_and_scalar_passes_agree`).
    pub(crate) fn signals(&self, text: &str) -> Signals {
        let b = text.as_bytes();
        if b.len() < MEMO_BELOW {
            return Memo::lookup(b, |b| self.pass(b));
        }
        self.pass(b)
    }

    fn pass(&self, b: &[u8]) -> Signals {
        let mut pass = Pass::default();
        let done = if b.len() >= SIMD_FROM {
            self.blocks(b, &mut pass)
        } else {
            self.bytes(b, &mut pass)
        };
        pass.finish(done)
    }

    /// The byte-by-byte pass. Answers whether it stopped early.
    fn bytes(&self, b: &[u8], pass: &mut Pass) -> bool {
        let n = b.len();
        let mut i = 0;
        while i < n {
            match CLASS[b[i] as usize] {
                IDENT => {
                    let start = i;
                    i += 1;
                    while i < n && CLASS[b[i] as usize] == IDENT {
                        i += 1;
                    }
                    pass.needs |= self.token(b, start, i);
                }
                SYMBOL => {
                    pass.symbol(b, i);
                    i += 1;
                    if pass.knows_all(&b[i..]) {
                        return true;
                    }
                }
                _ => i += 1,
            }
        }
        false
    }

    /// The block pass. Answers whether it stopped early.
    fn blocks(&self, b: &[u8], pass: &mut Pass) -> bool {
        let n = b.len();
        let mut in_token = false;
        let mut token_start = 0;
        let mut base = 0;
        while base < n {
            let (ident, punct) = classify(&b[base..n.min(base + 64)]);
            // Bit k: byte k starts a token (its identifier bit is set) or is
            // the first byte after one (clear).
            let mut edges = ident ^ ((ident << 1) | u64::from(in_token));
            while edges != 0 {
                let k = edges.trailing_zeros() as usize;
                edges &= edges - 1;
                if ident >> k & 1 == 1 {
                    token_start = base + k;
                } else {
                    pass.needs |= self.token(b, token_start, base + k);
                }
            }
            in_token = ident >> 63 == 1;
            let mut symbols = punct;
            while symbols != 0 {
                let i = base + symbols.trailing_zeros() as usize;
                symbols &= symbols - 1;
                if CLASS[b[i] as usize] == SYMBOL {
                    pass.symbol(b, i);
                }
            }
            base += 64;
            if pass.knows_all(b.get(base..).unwrap_or_default()) {
                return true;
            }
        }
        if in_token {
            pass.needs |= self.token(b, token_start, n);
        }
        false
    }

    #[inline]
    fn token(&self, b: &[u8], start: usize, end: usize) -> u8 {
        let len = end - start;
        let first = b[start];
        let mut needs = 0;
        if RARE_FIRST[usize::from(first)] {
            needs |= rare_token(b, start, end);
        }
        if len > MAX_WORD {
            return needs;
        }
        let bit = shape_bit(len, first, b[end - 1]);
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
        for &(word, check, category) in rows {
            if accept(b, start, end, word.as_bytes(), check) {
                needs |= category;
            }
        }
        needs
    }
}

/// Secrets that start a token, Python dunders and SpEL's `T(`: tokens
/// that start with a byte of [`RARE_FIRST`].
#[inline(never)]
fn rare_token(b: &[u8], start: usize, end: usize) -> u8 {
    let t = &b[start..end];
    if t.len() < 3 {
        if t == b"T" && matches!(next_non_blank(b, end), Some(b'(' | b'/')) {
            // SpEL `T(java.lang.Runtime)`.
            return DANGER;
        }
        return 0;
    }
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

/// Whether the `+` at `i` can join two quoted literals as the normalizer
/// assembles them (`"ev" + "al"`, its `PLUS_CHAIN`): on each side, past
/// blanks, a quote or the edge of a comment. A comment's edge is `*/`
/// before the `+` or a line break (a `// …` comment ends there, and its
/// text is not a quote), and `/*` or `//` after it. A bare `/` is not one:
/// base64 text (images, certificates) is full of `/+/`, and taking it for a
/// comment sent nine in ten long blobs through every code rule.
fn joins_literals(b: &[u8], i: usize) -> bool {
    let quote = |c: u8| matches!(c, b'"' | b'\'' | b'`');
    let Some(before) = b[..i].iter().rposition(|c| !c.is_ascii_whitespace()) else {
        return false;
    };
    let joins_before = quote(b[before])
        || (b[before] == b'/' && before > 0 && b[before - 1] == b'*')
        || b[before + 1..i].contains(&b'\n');
    let Some(after) = b[i + 1..]
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .map(|k| i + 1 + k)
    else {
        return false;
    };
    let joins_after =
        quote(b[after]) || (b[after] == b'/' && matches!(b.get(after + 1), Some(b'*' | b'/')));
    joins_before && joins_after
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
        PythonName => exact() && (start == 0 || b[start - 1] != b'.'),
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
        b'+' if joins_literals(b, i) => CODE,
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
    use proptest::prelude::*;

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
            // Base64 (an embedded image): `/+/` is not a comment around a `+`.
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+/+/P8/AQAJ5Q",
            "a / +b / c",
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
            ("this['ev'/**/+/**/'al']", NEEDS_CODE),
            ("this['ev' // a line comment\n + 'al']", NEEDS_CODE),
            ("this['ev' + // a line comment\n 'al']", NEEDS_CODE),
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

    /// Pieces that exercise every branch of the pass: keywords, secrets,
    /// symbols and their neighbours, blanks and runs of letters long enough
    /// to cross a 64-byte block.
    const PIECES: &[&str] = &[
        "eval",
        "Function",
        "require",
        "(",
        "[",
        "`",
        "&",
        "|",
        "$",
        "{",
        "}",
        "${",
        "{{",
        "}}",
        "<%",
        "%>",
        "\\x65",
        "+",
        "\"",
        "'",
        " ",
        "\n",
        ".",
        ":",
        "=",
        "-",
        "#",
        "?new",
        "[char]",
        "-----BEGIN",
        "http",
        "://",
        "a:b@",
        "password",
        "token",
        "AKIAABCDEFGHIJKLMNOP",
        "ghp_abcd",
        "eyJhbGci",
        "xoxb",
        "__class__",
        "T",
        "os",
        "exec",
        "getattr",
        "re.compile",
        "iex",
        "Invoke",
        "Start",
        "-process",
        "join",
        "]",
        "reverse",
        "import",
        "employee",
        "manager",
        "onboarding",
        "é",
        "ü",
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl",
    ];

    fn pieces() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The SIMD pass, the byte-by-byte pass and the memo give the same
        /// answer for any text, whatever its length.
        #[test]
        fn simd_and_scalar_passes_agree(text in pieces()) {
            let p = Prefilter::new();
            let b = text.as_bytes();
            let mut blocks = Pass::default();
            let stopped = p.blocks(b, &mut blocks);
            let blocks = blocks.finish(stopped);
            let mut bytes = Pass::default();
            let stopped = p.bytes(b, &mut bytes);
            let bytes = bytes.finish(stopped);
            prop_assert_eq!(blocks, bytes, "{:?}", text);
            prop_assert_eq!(p.signals(&text), bytes, "{:?}", text);
            prop_assert_eq!(p.signals(&text), bytes, "{:?} (remembered)", text);
        }
    }

    #[test]
    fn the_memo_tells_apart_strings_that_share_a_slot() {
        let p = Prefilter::new();
        // Far more short strings than slots, clean and not, met twice in
        // turn: every answer is the pass's own.
        let texts: Vec<String> = (0..5000)
            .map(|i| match i % 4 {
                0 => format!("field{i}"),
                1 => format!("eval{i}"),
                2 => format!("{{{{x{i}}}}}"),
                _ => format!("os.{i}"),
            })
            .collect();
        for _ in 0..2 {
            for text in &texts {
                assert_eq!(p.signals(text), p.pass(text.as_bytes()), "{text}");
            }
        }
        assert_eq!(p.signals(""), p.pass(b""));
    }
}
