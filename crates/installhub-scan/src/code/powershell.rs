//! PowerShell: our own tokenizer, as no maintained PowerShell parser exists
//! on crates.io. It knows what the judgement needs: comments, the four
//! string forms (with `$` expansion marked), variables and `$(`…`)`,
//! type literals `[…]`, barewords with the backtick escape removed
//! (`I`nv`oke-Ex`pression` is `invoke-expression`), and command position
//! (the start of a statement, after `;`, a newline, `|`, `(`, `{`, `$(`,
//! `&&`, `||` or `=`).
//!
//! - **Dynamic code**: the command `Invoke-Expression` / `iex`, named
//!   anywhere (an argument to `Set-Alias`, a string given to `&`);
//!   `&` or `.` invoking a computed command (`& $cmd`,
//!   `&($ShellId[1]+$ShellId[13]+'x')`, `. "$a$b"`); `-EncodedCommand`
//!   and its abbreviations (`-enc`, `-e`, `-ec`) on `powershell`/`pwsh`;
//!   `[scriptblock]::Create`, `.InvokeScript`, `.NewScriptBlock`,
//!   `[powershell]::Create`; `Add-Type` (compiles C#); aliases
//!   (`Set-Alias`, `New-Alias`), which hide which command runs.
//! - **Processes**: `Start-Process`, `Invoke-Command`, `Invoke-Item`,
//!   `Start-Job`, `Invoke-WmiMethod`, `Invoke-CimMethod` and their aliases;
//!   `powershell`, `pwsh`, `cmd`, `wscript`, `cscript`, `mshta`,
//!   `rundll32`, `regsvr32` as commands; `[Diagnostics.Process]::Start`.
//! - **Modules**: `Import-Module`, `[Reflection.Assembly]::Load*`.

use super::Findings;
use crate::report::Capability;
use crate::rules::RuleId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A bareword (a command name, a parameter, an argument).
    Word,
    /// A string literal; `true` when it expands `$…`.
    Str(bool),
    Var,
    /// `$(`, `@(`
    SubExpr,
    /// `[type]`
    Type,
    /// One punctuation: `&`, `.`, `|`, `;`, `(`, `)`, `{`, `}`, `=`, `,`, `::`, …
    Punct(u8),
    Newline,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    /// Words and types: lower case, backticks removed; strings: their
    /// content, lower case, backticks removed.
    text: String,
    start: usize,
    end: usize,
}

fn is_word_byte(b: u8) -> bool {
    !matches!(
        b,
        b' ' | b'\t'
            | b'\r'
            | b'\n'
            | b';'
            | b'|'
            | b'&'
            | b'('
            | b')'
            | b'{'
            | b'}'
            | b'['
            | b']'
            | b'"'
            | b'\''
            | b'$'
            | b','
            | b'='
            | b'#'
            | b'+'
            | b'@'
    )
}

/// Length of the character at byte `i` (a character boundary).
fn char_len(text: &str, i: usize) -> usize {
    text.get(i..)
        .and_then(|rest| rest.chars().next())
        .map_or(1, char::len_utf8)
}

/// A word as PowerShell reads it: backticks removed, in lower case. Only
/// names up to 64 bytes are compared with anything; longer ones are not
/// copied.
fn normalize(raw: &str) -> String {
    if raw.len() > 64 {
        return String::new();
    }
    if raw.is_ascii() {
        raw.bytes()
            .filter(|&b| b != b'`')
            .map(|b| char::from(b.to_ascii_lowercase()))
            .collect()
    } else {
        raw.chars()
            .filter(|&c| c != '`')
            .flat_map(char::to_lowercase)
            .collect()
    }
}

fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let push = |tokens: &mut Vec<Token>, kind, start, end, norm: String| {
        tokens.push(Token {
            kind,
            text: norm,
            start,
            end,
        })
    };
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        match b {
            b' ' | b'\t' | b'\r' => i += 1,
            b'\n' => {
                i += 1;
                push(&mut tokens, Kind::Newline, start, i, String::new());
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'<' if bytes.get(i + 1) == Some(&b'#') => {
                i = text[i + 2..]
                    .find("#>")
                    .map_or(bytes.len(), |e| i + 2 + e + 2);
            }
            b'@' if matches!(bytes.get(i + 1), Some(b'"' | b'\'')) => {
                // Here-string: to the closing quote followed by `@`.
                let quote = bytes[i + 1];
                let close = if quote == b'"' { "\"@" } else { "'@" };
                let end = text[i + 2..].find(close).map_or(bytes.len(), |e| i + 2 + e);
                let body = &text[(i + 2).min(end)..end];
                i = (end + 2).min(bytes.len());
                push(
                    &mut tokens,
                    Kind::Str(quote == b'"' && body.contains('$')),
                    start,
                    i,
                    normalize(body),
                );
            }
            b'@' if bytes.get(i + 1) == Some(&b'(') => {
                i += 2;
                push(&mut tokens, Kind::SubExpr, start, i, String::new());
            }
            b'\'' => {
                i += 1;
                let mut body = String::new();
                while i < bytes.len() {
                    if bytes[i] == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            body.push('\'');
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    let c = text[i..].chars().next().unwrap_or(' ');
                    body.push(c);
                    i += c.len_utf8();
                }
                push(&mut tokens, Kind::Str(false), start, i, normalize(&body));
            }
            b'"' => {
                i += 1;
                let mut body = String::new();
                let mut expands = false;
                while i < bytes.len() {
                    match bytes[i] {
                        b'`' => {
                            i += 1;
                            if let Some(c) = text.get(i..).and_then(|r| r.chars().next()) {
                                body.push(c);
                                i += c.len_utf8();
                            }
                            continue;
                        }
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'$' => expands = true,
                        _ => {}
                    }
                    let c = text[i..].chars().next().unwrap_or(' ');
                    body.push(c);
                    i += c.len_utf8();
                }
                push(&mut tokens, Kind::Str(expands), start, i, normalize(&body));
            }
            b'$' => {
                if bytes.get(i + 1) == Some(&b'(') {
                    i += 2;
                    push(&mut tokens, Kind::SubExpr, start, i, String::new());
                } else if bytes.get(i + 1) == Some(&b'{') {
                    i = text[i..].find('}').map_or(bytes.len(), |e| i + e + 1);
                    push(&mut tokens, Kind::Var, start, i, normalize(&text[start..i]));
                } else {
                    i += 1;
                    while i < bytes.len()
                        && (bytes[i].is_ascii_alphanumeric()
                            || matches!(bytes[i], b'_' | b':' | b'?' | b'^' | b'$'))
                    {
                        i += 1;
                    }
                    push(&mut tokens, Kind::Var, start, i, normalize(&text[start..i]));
                }
            }
            b'[' => {
                // A type literal `[Name.Space]`, or an index.
                let close = text[i + 1..].find(']').map(|e| i + 1 + e);
                let inner = close.map(|c| &text[i + 1..c]);
                match (close, inner) {
                    (Some(c), Some(name))
                        if !name.is_empty()
                            && name.bytes().all(|b| {
                                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'`' | b' ')
                            }) =>
                    {
                        i = c + 1;
                        let mut norm = normalize(name).replace(' ', "");
                        if let Some(rest) = norm.strip_prefix("system.") {
                            norm = rest.to_owned();
                        }
                        push(&mut tokens, Kind::Type, start, i, norm);
                    }
                    _ => {
                        i += 1;
                        push(&mut tokens, Kind::Punct(b'['), start, i, String::new());
                    }
                }
            }
            b':' if bytes.get(i + 1) == Some(&b':') => {
                i += 2;
                push(&mut tokens, Kind::Punct(b':'), start, i, String::new());
            }
            b'&' if bytes.get(i + 1) == Some(&b'&') => {
                i += 2;
                push(&mut tokens, Kind::Punct(b';'), start, i, String::new());
            }
            b'|' if bytes.get(i + 1) == Some(&b'|') => {
                i += 2;
                push(&mut tokens, Kind::Punct(b';'), start, i, String::new());
            }
            b';' | b'|' | b'&' | b'(' | b')' | b'{' | b'}' | b']' | b',' | b'=' | b'+' | b'@' => {
                i += 1;
                push(&mut tokens, Kind::Punct(b), start, i, String::new());
            }
            b'.' if i + 1 < bytes.len()
                && bytes[i + 1].is_ascii_alphabetic()
                && tokens.last().is_some_and(|t: &Token| {
                    matches!(
                        t.kind,
                        Kind::Var | Kind::Punct(b')') | Kind::Word | Kind::Type
                    )
                })
                && bytes[i - 1] != b' ' =>
            {
                // A member access `.Name`.
                i += 1;
                push(&mut tokens, Kind::Punct(b'.'), start, i, String::new());
            }
            _ => {
                i += char_len(text, i);
                while i < bytes.len() && (is_word_byte(bytes[i]) || bytes[i] == b'`') {
                    if bytes[i] == b'`' {
                        // The escape character: the next character is part of the word.
                        i += 1;
                        if i >= bytes.len() {
                            break;
                        }
                    }
                    i += char_len(text, i);
                }
                let raw = &text[start..i.min(bytes.len())];
                push(
                    &mut tokens,
                    if raw == "." {
                        Kind::Punct(b'.')
                    } else {
                        Kind::Word
                    },
                    start,
                    i.min(bytes.len()),
                    normalize(raw),
                );
            }
        }
    }
    tokens
}

const DYNAMIC_COMMANDS: &[&str] = &["iex", "invoke-expression"];
const PROCESS_COMMANDS: &[&str] = &[
    "start-process",
    "saps",
    "start",
    "invoke-command",
    "icm",
    "invoke-item",
    "ii",
    "start-job",
    "sajb",
    "invoke-wmimethod",
    "iwmi",
    "invoke-cimmethod",
    "powershell",
    "powershell.exe",
    "pwsh",
    "pwsh.exe",
    "cmd",
    "cmd.exe",
    "wscript",
    "wscript.exe",
    "cscript",
    "cscript.exe",
    "mshta",
    "mshta.exe",
    "rundll32",
    "rundll32.exe",
    "regsvr32",
    "regsvr32.exe",
];

fn is_command_start(prev: Option<&Token>) -> bool {
    match prev {
        None => true,
        Some(t) => matches!(
            t.kind,
            Kind::Newline | Kind::SubExpr | Kind::Punct(b';' | b'|' | b'(' | b'{' | b'=')
        ),
    }
}

fn is_encoded_command_switch(word: &str) -> bool {
    word.len() >= 2 && word.starts_with('-') && "-encodedcommand".starts_with(word)
        || word.len() >= 3 && word.starts_with("-ec") && "-ec".starts_with(word)
}

/// Tokenizes `text` as PowerShell and judges it.
pub(crate) fn analyze(text: &str, commands: bool, out: &mut Findings) {
    let tokens = tokenize(text);
    let snippet = |from: usize, to: usize| -> &str {
        let end = tokens.get(to).map_or(text.len(), |t| t.end);
        text.get(tokens[from].start..end).unwrap_or_default()
    };
    let mut command: Option<&str> = None;
    for (i, tok) in tokens.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| &tokens[p]);
        let next = tokens.get(i + 1);
        if is_command_start(prev) {
            command = None;
        }
        match tok.kind {
            Kind::Word | Kind::Str(false) if DYNAMIC_COMMANDS.contains(&tok.text.as_str()) => {
                out.push(
                    RuleId::CodeEval,
                    Capability::DynamicCode,
                    format!("`{}` (Invoke-Expression) runs text as code", tok.text),
                    snippet(i, (i + 2).min(tokens.len() - 1)),
                );
            }
            Kind::Word if commands && is_command_start(prev) => {
                command = Some(tok.text.as_str());
                let name = tok.text.as_str();
                if PROCESS_COMMANDS.contains(&name) {
                    out.push(
                        RuleId::CodeProcess,
                        Capability::ProcessSpawn,
                        format!("`{name}` starts a process"),
                        snippet(i, (i + 2).min(tokens.len() - 1)),
                    );
                } else if matches!(name, "add-type") {
                    out.push(
                        RuleId::CodeEval,
                        Capability::DynamicCode,
                        String::from("`Add-Type` compiles and loads code"),
                        snippet(i, (i + 2).min(tokens.len() - 1)),
                    );
                } else if matches!(name, "set-alias" | "new-alias" | "sal" | "nal") {
                    out.push(
                        RuleId::CodeEval,
                        Capability::DynamicCode,
                        format!("`{name}` hides which command runs"),
                        snippet(i, (i + 3).min(tokens.len() - 1)),
                    );
                } else if matches!(name, "import-module" | "ipmo") {
                    out.push(
                        RuleId::CodeModuleLoad,
                        Capability::ModuleLoad,
                        String::from("`Import-Module` loads a module"),
                        snippet(i, (i + 2).min(tokens.len() - 1)),
                    );
                }
            }
            Kind::Punct(b'&' | b'.') if commands && is_command_start(prev) => {
                match next.map(|t| t.kind) {
                    Some(Kind::Word | Kind::Str(false)) => {
                        let name = next.map(|t| t.text.as_str()).unwrap_or_default();
                        command = Some(name);
                        if PROCESS_COMMANDS.contains(&name) {
                            out.push(
                                RuleId::CodeProcess,
                                Capability::ProcessSpawn,
                                format!("`{name}` starts a process"),
                                snippet(i, i + 1),
                            );
                        }
                    }
                    Some(Kind::Punct(b'{')) | None => {}
                    Some(_) => out.push(
                        RuleId::CodeEval,
                        Capability::DynamicCode,
                        String::from("the invocation operator runs a computed command"),
                        snippet(i, (i + 1).min(tokens.len() - 1)),
                    ),
                }
            }
            Kind::Word
                if is_encoded_command_switch(&tok.text)
                    && (command.is_some_and(|c| {
                        matches!(c, "powershell" | "powershell.exe" | "pwsh" | "pwsh.exe")
                    }) || tok.text.starts_with("-enc")) =>
            {
                out.push(
                    RuleId::CodeEval,
                    Capability::DynamicCode,
                    String::from("`-EncodedCommand` runs hidden code"),
                    snippet(i, (i + 1).min(tokens.len() - 1)),
                );
            }
            Kind::Type if next.is_some_and(|t| t.kind == Kind::Punct(b':')) => {
                let member = tokens
                    .get(i + 2)
                    .map(|t| t.text.as_str())
                    .unwrap_or_default();
                let ty = tok.text.as_str();
                let ty = ty.strip_prefix("management.automation.").unwrap_or(ty);
                let found = match (ty, member) {
                    ("scriptblock" | "powershell", "create") => Some((
                        RuleId::CodeEval,
                        Capability::DynamicCode,
                        "creates code from text",
                    )),
                    ("diagnostics.process", "start") => Some((
                        RuleId::CodeProcess,
                        Capability::ProcessSpawn,
                        "starts a process",
                    )),
                    ("reflection.assembly", m) if m.starts_with("load") => Some((
                        RuleId::CodeModuleLoad,
                        Capability::ModuleLoad,
                        "loads an assembly",
                    )),
                    _ => None,
                };
                if let Some((rule, capability, what)) = found {
                    out.push(
                        rule,
                        capability,
                        format!("`[{ty}]::{member}` {what}"),
                        snippet(i, (i + 2).min(tokens.len() - 1)),
                    );
                }
            }
            Kind::Punct(b'.') => {
                if let Some(member) = next.filter(|t| t.kind == Kind::Word)
                    && let Some(name) = member
                        .text
                        .split('.')
                        .find(|m| matches!(*m, "invokescript" | "newscriptblock"))
                {
                    out.push(
                        RuleId::CodeEval,
                        Capability::DynamicCode,
                        format!("`.{name}` runs text as code"),
                        snippet(i.saturating_sub(1), i + 1),
                    );
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<RuleId> {
        let mut out = Findings::default();
        analyze(text, true, &mut out);
        out.list.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn backticks_and_case_do_not_hide_commands() {
        assert_eq!(rules("I`nv`oke-Ex`pression $x"), vec![RuleId::CodeEval]);
        assert_eq!(rules("$a | IEX"), vec![RuleId::CodeEval]);
    }

    #[test]
    fn invocation_of_a_computed_command() {
        assert_eq!(
            rules("&($ShellId[1]+$ShellId[13]+'x') $payload"),
            vec![RuleId::CodeEval]
        );
        assert_eq!(rules("& $cmd arg"), vec![RuleId::CodeEval]);
        assert_eq!(rules(". \"$a$b\""), vec![RuleId::CodeEval]);
        assert!(rules("& { Get-Date }").is_empty());
        assert!(rules("if ($a -and $b) { Write-Output 'ok' }").is_empty());
    }

    #[test]
    fn encoded_commands() {
        assert_eq!(
            rules("powershell -e SQBFAFgA"),
            vec![RuleId::CodeProcess, RuleId::CodeEval]
        );
        assert_eq!(
            rules("foo -EncodedCommand SQBFAFgA"),
            vec![RuleId::CodeEval]
        );
        assert!(rules("Get-Item -ErrorAction Stop").is_empty());
    }
}
