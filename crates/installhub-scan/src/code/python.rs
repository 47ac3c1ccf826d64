//! Python: parsed with rustpython's parser, judged on the syntax tree.
//!
//! - **Dynamic code**: any reference to `exec`, `eval`, `compile` or
//!   `execfile` (a call, an alias `e = exec`, `map(exec, …)`);
//!   deserializers that run code while loading (`pickle`, `cPickle`,
//!   `_pickle`, `dill`, `marshal`, `shelve`: `load`, `loads`, `Unpickler`);
//!   the interpreter's internals (`__class__`, `__subclasses__`,
//!   `__globals__`, `__code__`, …).
//! - **Host objects**: `__builtins__`; `getattr`/`setattr`/`delattr` on the
//!   builtins or on a module with a computed attribute name
//!   (`getattr(__builtins__, 'ex' + 'ec')`); a computed key on `globals()`,
//!   `locals()`, `vars(…)` or `….__dict__`; `ctypes`.
//! - **Processes**: `os.system`, `os.popen`, `os.exec*`, `os.spawn*`,
//!   `os.posix_spawn*`, `os.fork*`, `os.startfile`, anything of
//!   `subprocess`, `pty.spawn`, `commands.getoutput`.
//! - **Modules**: `__import__`, `importlib`, and `import`/`from … import`
//!   of a module not on [`ALLOWED_MODULES`].

use std::collections::HashSet;

use unicode_normalization::UnicodeNormalization;

use rustpython_ast::text_size::TextRange;
use rustpython_ast::{
    Constant, Expr, ExprAttribute, ExprCall, ExprName, ExprSubscript, Ranged, Stmt, StmtImport,
    StmtImportFrom, Visitor,
};
use rustpython_parser::{Mode, parse};

use super::Findings;
use crate::report::Capability;
use crate::rules::RuleId;

/// Standard-library modules a definition's Python may import: data,
/// text, time and math, nothing with files, processes, networks or the
/// interpreter.
pub(crate) const ALLOWED_MODULES: &[&str] = &[
    "json",
    "re",
    "math",
    "cmath",
    "datetime",
    "decimal",
    "fractions",
    "collections",
    "collections.abc",
    "itertools",
    "functools",
    "string",
    "uuid",
    "hashlib",
    "hmac",
    "base64",
    "time",
    "statistics",
    "random",
    "typing",
    "dataclasses",
    "enum",
    "operator",
    "textwrap",
    "unicodedata",
    "calendar",
    "zoneinfo",
    "urllib.parse",
    "html",
    "csv",
    "copy",
    "numbers",
    "bisect",
    "heapq",
    "difflib",
    "pprint",
    "secrets",
    "ipaddress",
];

/// Modules whose attributes, looked up by a computed name, reach the host.
const HOST_MODULES: &[&str] = &[
    "__builtins__",
    "builtins",
    "os",
    "sys",
    "subprocess",
    "importlib",
    "pickle",
    "marshal",
    "ctypes",
    "posix",
    "nt",
    "shutil",
    "socket",
    "pty",
    "io",
    "codecs",
];

const DESERIALIZERS: &[&str] = &["pickle", "cPickle", "_pickle", "dill", "marshal", "shelve"];

/// Every name a Python rule looks for. Text that holds none of them as a
/// bare name (a whole word, not an attribute: `re.compile` and
/// JavaScript's `.exec` are not), and no dunder, cannot reach what the
/// rules judge, so it is not parsed (rustpython parses at tens of MB/s, and
/// most code-like text is not Python). The scan's one pass over every
/// string finds them ([`crate::prefilter`]).
pub(crate) const NAMES: &[&str] = &[
    "exec",
    "eval",
    "compile",
    "execfile",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "vars",
    "os",
    "subprocess",
    "pty",
    "commands",
    "pickle",
    "cPickle",
    "dill",
    "marshal",
    "shelve",
    "importlib",
    "ctypes",
    "import",
    "builtins",
];

/// Parses `text` as a Python module and judges it. Answers whether it parsed.
///
/// Python reads identifiers in NFKC form (`ｅｘｅｃ` is `exec`); rustpython
/// does not, so text with non-ASCII characters is normalized first.
/// `names` is the prefilter's answer whether the text names one of
/// [`NAMES`] ([`crate::prefilter::Signals::python_names`]).
pub(crate) fn analyze(text: &str, names: bool, out: &mut Findings) -> bool {
    let normalized: String;
    let text = if text.is_ascii() {
        if !names && memchr::memmem::find(text.as_bytes(), b"__").is_none() {
            return false;
        }
        text
    } else {
        normalized = text.nfkc().collect();
        &normalized
    };
    let Ok(module) = parse(text, Mode::Module, "<definition>") else {
        return false;
    };
    let Some(body) = module.module().map(|m| m.body) else {
        return false;
    };
    let mut judge = Judge {
        source: text,
        out,
        imported: HashSet::new(),
        context: Vec::new(),
    };
    for stmt in body {
        judge.visit_stmt(stmt);
    }
    true
}

struct Judge<'s, 'o> {
    source: &'s str,
    out: &'o mut Findings,
    /// Names bound by `import` statements met so far.
    imported: HashSet<String>,
    /// Ranges of the enclosing calls and statements, innermost last: a
    /// finding shows the call or statement it sits in.
    context: Vec<TextRange>,
}

fn module_allowed(name: &str) -> bool {
    ALLOWED_MODULES.contains(&name)
        || name
            .split_once('.')
            .is_some_and(|(top, _)| ALLOWED_MODULES.contains(&top) && top != "urllib")
}

fn is_string(expr: &Expr) -> bool {
    matches!(expr, Expr::Constant(c) if matches!(c.value, Constant::Str(_)))
}

fn string_value(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Constant(c) => match &c.value {
            Constant::Str(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

fn name_of(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        _ => None,
    }
}

impl Judge<'_, '_> {
    fn text(&self, range: TextRange) -> &str {
        let start = u32::from(range.start()) as usize;
        let end = u32::from(range.end()) as usize;
        self.source.get(start..end).unwrap_or_default()
    }

    fn flag(&mut self, rule: RuleId, capability: Capability, detail: String, range: TextRange) {
        let shown = match self.context.last() {
            Some(outer) if u32::from(outer.len()) <= 160 && outer.contains_range(range) => *outer,
            _ => range,
        };
        let text = self.text(shown).to_owned();
        self.out.push(rule, capability, detail, &text);
    }

    fn is_host_module(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Name(n) => {
                HOST_MODULES.contains(&n.id.as_str()) || self.imported.contains(n.id.as_str())
            }
            Expr::Call(call) => matches!(
                name_of(&call.func),
                Some("__import__" | "globals" | "locals" | "vars")
            ),
            _ => false,
        }
    }

    /// An attribute `object.attr`, written or reached with `getattr`.
    fn attribute(&mut self, object: &Expr, attr: &str, range: TextRange) {
        let module = name_of(object);
        let process = match module {
            Some("os") => {
                matches!(attr, "system" | "popen" | "startfile")
                    || ["exec", "spawn", "posix_spawn", "fork"]
                        .iter()
                        .any(|p| attr.starts_with(p))
            }
            Some("subprocess") => true,
            Some("pty") => attr == "spawn",
            Some("commands") => attr.starts_with("getoutput") || attr.starts_with("getstatus"),
            _ => false,
        };
        if process {
            self.flag(
                RuleId::CodeProcess,
                Capability::ProcessSpawn,
                format!("`{}.{attr}` starts a process", module.unwrap_or_default()),
                range,
            );
        } else if module.is_some_and(|m| DESERIALIZERS.contains(&m))
            && matches!(attr, "load" | "loads" | "Unpickler")
        {
            self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                format!(
                    "`{}.{attr}` runs code while loading data",
                    module.unwrap_or_default()
                ),
                range,
            );
        } else if module == Some("importlib") || attr == "import_module" {
            self.flag(
                RuleId::CodeModuleLoad,
                Capability::ModuleLoad,
                format!("`importlib.{attr}` loads a module"),
                range,
            );
        } else if matches!(attr, "exec" | "eval" | "compile" | "__import__")
            && module.is_some_and(|m| m == "__builtins__" || m == "builtins")
        {
            self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                format!("`{attr}` reached through the builtins"),
                range,
            );
        } else if super::js::PYTHON_INTERNALS.contains(&attr) {
            self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                format!("`{attr}` reaches the interpreter's internals"),
                range,
            );
        }
    }

    fn import(&mut self, module: &str, range: TextRange) {
        if !module_allowed(module) {
            let (rule, capability, detail) = if module == "subprocess" || module == "pty" {
                (
                    RuleId::CodeProcess,
                    Capability::ProcessSpawn,
                    format!("import of `{module}`, which starts processes"),
                )
            } else {
                (
                    RuleId::CodeModuleLoad,
                    Capability::ModuleLoad,
                    format!("import of `{module}`, which is not on the allowed module list"),
                )
            };
            self.flag(rule, capability, detail, range);
        }
    }
}

impl Visitor for Judge<'_, '_> {
    fn visit_stmt(&mut self, node: Stmt) {
        self.context.push(node.range());
        self.generic_visit_stmt(node);
        self.context.pop();
    }

    fn visit_expr_name(&mut self, node: ExprName) {
        match node.id.as_str() {
            name @ ("exec" | "eval" | "compile" | "execfile") => self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                format!("`{name}` turns text into code"),
                node.range,
            ),
            "__import__" => self.flag(
                RuleId::CodeModuleLoad,
                Capability::ModuleLoad,
                "`__import__` loads a module by name".into(),
                node.range,
            ),
            "__builtins__" => self.flag(
                RuleId::CodeHostAccess,
                Capability::HostObject,
                "`__builtins__` holds exec, eval and __import__".into(),
                node.range,
            ),
            _ => {}
        }
    }

    fn visit_expr_attribute(&mut self, node: ExprAttribute) {
        self.attribute(&node.value, node.attr.as_str(), node.range);
        self.generic_visit_expr_attribute(node);
    }

    fn visit_expr_call(&mut self, node: ExprCall) {
        self.context.push(node.range);
        if let Some(name @ ("getattr" | "setattr" | "delattr")) = name_of(&node.func)
            && let (Some(object), Some(key)) = (node.args.first(), node.args.get(1))
        {
            match string_value(key) {
                Some(attr) => {
                    let attr = attr.to_owned();
                    self.attribute(object, &attr, node.range);
                }
                None if self.is_host_module(object) => self.flag(
                    RuleId::CodeHostAccess,
                    Capability::HostObject,
                    format!("`{name}` with a computed name on a module or the builtins"),
                    node.range,
                ),
                None => {}
            }
        }
        self.generic_visit_expr_call(node);
        self.context.pop();
    }

    fn visit_expr_subscript(&mut self, node: ExprSubscript) {
        let namespace = match node.value.as_ref() {
            Expr::Call(call) => matches!(name_of(&call.func), Some("globals" | "locals" | "vars")),
            Expr::Attribute(a) => a.attr.as_str() == "__dict__",
            Expr::Name(n) => n.id.as_str() == "__builtins__",
            _ => false,
        };
        if namespace {
            let detail = match string_value(&node.slice) {
                Some(key) if matches!(key, "exec" | "eval" | "compile" | "__import__") => {
                    Some(format!("`{key}` looked up in a namespace"))
                }
                Some(_) => None,
                None if !is_string(&node.slice) => {
                    Some("a computed key on a namespace (globals, locals, vars, __dict__)".into())
                }
                None => None,
            };
            if let Some(detail) = detail {
                self.flag(
                    RuleId::CodeHostAccess,
                    Capability::HostObject,
                    detail,
                    node.range,
                );
            }
        }
        self.generic_visit_expr_subscript(node);
    }

    fn visit_stmt_import(&mut self, node: StmtImport) {
        for alias in &node.names {
            let name = alias.name.as_str();
            self.import(name, node.range);
            let bound = alias
                .asname
                .as_ref()
                .map_or_else(|| name.split('.').next().unwrap_or(name), |a| a.as_str());
            self.imported.insert(bound.to_owned());
        }
    }

    fn visit_stmt_import_from(&mut self, node: StmtImportFrom) {
        match &node.module {
            Some(module) => self.import(module.as_str(), node.range),
            None => self.flag(
                RuleId::CodeModuleLoad,
                Capability::ModuleLoad,
                "a relative import".into(),
                node.range,
            ),
        }
    }
}
