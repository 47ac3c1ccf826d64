//! JavaScript: parsed with oxc, judged on the syntax tree.
//!
//! The rules, each with the shapes it covers:
//!
//! - **Dynamic code**: any reference to `eval`, `Function`,
//!   `AsyncFunction`, `GeneratorFunction`, `AsyncGeneratorFunction` or
//!   `execScript`, whatever is done with it: a call, an optional call
//!   `eval?.(x)`, an indirect call `(0, eval)(x)`, `.call/.apply/.bind`,
//!   `Reflect.apply(eval, …)`, `Reflect.construct(Function, …)`, a tagged
//!   template ``Function`…` ``, an alias `const e = eval`. `typeof eval` and
//!   `x instanceof Function` are the only uses allowed. Also any read of
//!   `.constructor` (the way from any function, async function or generator
//!   to its constructor: `(async () => {}).constructor`,
//!   `Object.getPrototypeOf(function*(){}).constructor`), except
//!   `x.constructor.name` and comparisons; `setTimeout`/`setInterval`/
//!   `setImmediate` whose first argument is not a function; `new Worker(…,
//!   {eval: true})`; `vm`'s `runIn*Context`/`compileFunction`; Python's
//!   runtime internals (`__builtins__`, `__globals__`, …) in a polyglot.
//! - **Host objects**: a computed key on a global object (`globalThis`,
//!   `window`, `self`, `global`, `frames`, `top`, `parent`, `document`),
//!   on top-level `this`, or on a module, process or built-in object
//!   (`module`, `process`, `require`, `Reflect`, `Object`, `Function`,
//!   `Math`, …) whose key is not a plain string literal: the computed key is
//!   the finding, whatever it computes to. A global object used as a value
//!   (`const g = globalThis`, `Reflect.get(window, k)`), and a computed key
//!   on a function, or a computed key on the result of a computed key of a
//!   literal (`[][a][b]`), or a call of a double computed lookup.
//! - **Modules**: `require(…)`, `module.require(…)`, `import(…)`,
//!   `import … from`, `export … from` of a module that is not on
//!   [`ALLOWED_MODULES`] or whose name is computed; `require` used as a
//!   value; `process.binding`, `process._linkedBinding`, `process.dlopen`,
//!   `process.mainModule`; `importScripts`.
//! - **Prototype chain**: `__proto__`, `setPrototypeOf`, `__defineGetter__`
//!   and friends, and assignments into a built-in's `prototype`.
//!
//! Names that a script declares itself (`const self = this`, a parameter
//! `parent`) are not taken for the browser's globals of the same name;
//! `globalThis` and `window` always are.

use std::cell::{Cell, RefCell};

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    Argument, ArrowFunctionExpression, AssignmentExpression, AssignmentTarget,
    AssignmentTargetPropertyIdentifier, AssignmentTargetPropertyProperty, BinaryExpression,
    BindingProperty, CallExpression, Class, ComputedMemberExpression, ExportAllDeclaration,
    ExportFromDeclaration, Expression, ExpressionStatement, Function, IdentifierReference,
    ImportDeclaration, ImportExpression, NewExpression, ObjectPropertyKind, Program, PropertyKey,
    StaticMemberExpression, StringLiteral, TaggedTemplateExpression, ThisExpression,
    UnaryExpression, VariableDeclarator,
};
use oxc_ast_visit::{Visit, walk};
use oxc_parser::{ParseOptions, Parser};
use oxc_semantic::{Scoping, SemanticBuilder};
use oxc_span::{GetSpan, SourceType, Span};
use oxc_syntax::operator::{BinaryOperator, UnaryOperator};
use oxc_syntax::scope::ScopeFlags;
use oxc_syntax::symbol::SymbolFlags;

use super::Findings;
use crate::report::Capability;
use crate::rules::RuleId;

/// Modules a definition's script may load: data and formatting libraries
/// and Node built-ins without file, network or process access. Not
/// `jsonpath`/`jsonpath-plus` (their filters are evaluated as code) nor
/// lodash's `template` (it compiles text into a function). Anything
/// else (`fs`, `child_process`, `vm`, `net`, `worker_threads`, …) is a
/// finding. `node:` prefixes and sub-paths (`lodash/get`) are allowed
/// when the package is.
pub(crate) const ALLOWED_MODULES: &[&str] = &[
    "lodash",
    "underscore",
    "moment",
    "moment-timezone",
    "dayjs",
    "date-fns",
    "date-fns-tz",
    "luxon",
    "uuid",
    "validator",
    "ajv",
    "joi",
    "yup",
    "zod",
    "papaparse",
    "xml2js",
    "fast-xml-parser",
    "crypto-js",
    "bcryptjs",
    "qs",
    "decimal.js",
    "big.js",
    "numeral",
    "crypto",
    "url",
    "querystring",
    "path",
    "util",
    "buffer",
    "string_decoder",
    "assert",
    "events",
    "zlib",
];

/// Timers that run a string argument as code.
const TIMERS: &[&str] = &["setTimeout", "setInterval", "setImmediate"];

const DYNAMIC_CODE: &[&str] = &[
    "eval",
    "Function",
    "AsyncFunction",
    "GeneratorFunction",
    "AsyncGeneratorFunction",
    "execScript",
];

/// Names that are the global object in some host.
const GLOBAL_OBJECTS: &[&str] = &[
    "globalThis",
    "window",
    "self",
    "global",
    "frames",
    "top",
    "parent",
    "document",
];

/// Global names that scripts also use for their own variables.
const AMBIGUOUS_GLOBALS: &[&str] = &["self", "global", "frames", "top", "parent", "document"];

/// Objects on which a computed key can reach code or the host.
const HOST_OBJECTS: &[&str] = &[
    "module", "process", "require", "exports", "Reflect", "Object", "Function", "Array", "String",
    "Number", "Boolean", "Symbol", "Promise", "Date", "RegExp", "Error", "Math", "JSON", "console",
    "Buffer", "Proxy", "Intl", "Deno", "Bun",
];

/// Built-ins whose prototype a script must not change.
const BUILTINS: &[&str] = &[
    "Object", "Array", "Function", "String", "Number", "Boolean", "Promise", "RegExp", "Date",
    "Error", "Symbol", "Map", "Set",
];

/// Python's runtime internals: in a string that parses as JavaScript they
/// are a polyglot reaching Python's interpreter.
pub(crate) const PYTHON_INTERNALS: &[&str] = &[
    "__builtins__",
    "__import__",
    "__globals__",
    "__subclasses__",
    "__class__",
    "__bases__",
    "__base__",
    "__mro__",
    "__code__",
    "__getattribute__",
    "__reduce__",
    "__reduce_ex__",
    "__loader__",
    "__spec__",
];

thread_local! {
    /// One arena per thread, reset after each parse: the AST of a script is
    /// freed in one step and the memory is reused by the next string.
    static ARENA: RefCell<Allocator> = RefCell::new(Allocator::default());
}

/// Parses `text` as a script (then as a module) and judges it. Answers
/// whether it parsed.
pub(crate) fn analyze(text: &str, out: &mut Findings) -> bool {
    ARENA.with(|arena| {
        let mut arena = arena.borrow_mut();
        // A module only when the text could be one: a second parse of every
        // refused string would double the cost of the Python and prose.
        let module = text.contains("import") || text.contains("export") || text.contains("await");
        let parsed = [SourceType::script(), SourceType::mjs()]
            .into_iter()
            .take(if module { 2 } else { 1 })
            .any(|source_type| {
                // Parentheses are not kept as nodes: the judge sees through
                // them anyway (`(0, eval)` is `eval`).
                let options = ParseOptions {
                    allow_return_outside_function: true,
                    preserve_parens: false,
                    ..ParseOptions::default()
                };
                let ret = Parser::new(&arena, text, source_type)
                    .with_options(options)
                    .parse();
                if ret.panicked || !ret.diagnostics.is_empty() {
                    return false;
                }
                let before = out.list.len();
                let mut judge = Judge::new(text, out, None);
                judge.visit_program(&ret.program);
                // Scopes matter only for names that are also ordinary
                // variables (`const self = this`, a parameter `parent`):
                // such a name is the global object only where it resolves
                // to no binding of the script. Without scopes the judge
                // takes each for the global object; only when it met one
                // are the scopes resolved and the script judged again
                // (scopes can only take findings away).
                if judge.met_ambiguous_global.get() {
                    out.list.truncate(before);
                    let semantic = SemanticBuilder::new().build(&ret.program).semantic;
                    Judge::new(text, out, Some(semantic.scoping())).visit_program(&ret.program);
                }
                true
            });
        arena.reset();
        parsed
    })
}

/// Parses `text` as one expression (a template placeholder's body) and
/// judges it.
pub(crate) fn analyze_expression(text: &str, out: &mut Findings) {
    ARENA.with(|arena| {
        let mut arena = arena.borrow_mut();
        if let Ok(expr) = Parser::new(&arena, text, SourceType::script()).parse_expression() {
            let mut judge = Judge::new(text, out, None);
            judge.visit_expression(&expr);
        }
        arena.reset();
    });
}

struct Judge<'s, 'o> {
    source: &'s str,
    out: &'o mut Findings,
    /// The script's scopes, when it uses a name of [`AMBIGUOUS_GLOBALS`].
    scoping: Option<&'s Scoping>,
    /// Without `scoping`, a name of [`AMBIGUOUS_GLOBALS`] was taken for the
    /// global object.
    met_ambiguous_global: Cell<bool>,
    /// Depth of non-arrow functions: `this` at depth 0 is the global object.
    functions: usize,
    /// Depth of class bodies: code inside is strict, so a function's `this`
    /// is never the global object there.
    classes: usize,
    /// The script starts with `"use strict"`.
    strict: bool,
    /// Spans of the enclosing calls and simple statements, innermost last:
    /// a finding shows the call or statement it sits in.
    context: Vec<Span>,
}

/// The expression with parentheses and TypeScript wrappers removed, and a
/// comma sequence reduced to its last element (`(0, eval)` is `eval`).
fn inner<'b, 'a>(expr: &'b Expression<'a>) -> &'b Expression<'a> {
    let mut expr = expr.get_inner_expression();
    while let Expression::SequenceExpression(seq) = expr {
        match seq.expressions.last() {
            Some(last) => expr = last.get_inner_expression(),
            None => break,
        }
    }
    expr
}

fn is_literal_value(expr: &Expression<'_>) -> bool {
    matches!(
        inner(expr),
        Expression::ArrayExpression(_)
            | Expression::ObjectExpression(_)
            | Expression::StringLiteral(_)
            | Expression::TemplateLiteral(_)
            | Expression::NumericLiteral(_)
            | Expression::RegExpLiteral(_)
            | Expression::BooleanLiteral(_)
    )
}

fn is_function_value(expr: &Expression<'_>) -> bool {
    matches!(
        inner(expr),
        Expression::FunctionExpression(_)
            | Expression::ArrowFunctionExpression(_)
            | Expression::ClassExpression(_)
    )
}

/// A computed member access whose key is computed (not a literal).
fn computed_key<'b, 'a>(expr: &'b Expression<'a>) -> Option<&'b ComputedMemberExpression<'a>> {
    match inner(expr) {
        Expression::ComputedMemberExpression(m) if m.static_property_info().is_none() => Some(m),
        _ => None,
    }
}

fn module_allowed(name: &str) -> bool {
    let name = name.strip_prefix("node:").unwrap_or(name);
    // Relative and absolute paths, `..` anywhere, and scoped packages
    // (none is on the list) load files we cannot judge.
    if name.starts_with(['.', '/', '@', '\\']) || name.contains("..") {
        return false;
    }
    // `lodash/template` and `lodash.template` compile text into functions.
    if name.contains("template") {
        return false;
    }
    let package = name.split('/').next().unwrap_or(name);
    ALLOWED_MODULES.contains(&package)
        || package.strip_prefix("lodash.").is_some_and(|method| {
            !method.is_empty() && method.bytes().all(|b| b.is_ascii_lowercase())
        })
}

impl<'s, 'o> Judge<'s, 'o> {
    fn new(source: &'s str, out: &'o mut Findings, scoping: Option<&'s Scoping>) -> Self {
        Judge {
            source,
            out,
            scoping,
            met_ambiguous_global: Cell::new(false),
            functions: 0,
            classes: 0,
            strict: false,
            context: Vec::new(),
        }
    }

    /// Visits inside a call or simple statement: its findings show it.
    fn within(&mut self, span: Span, visit: impl FnOnce(&mut Self)) {
        self.context.push(span);
        visit(self);
        self.context.pop();
    }

    fn text(&self, span: Span) -> &'s str {
        self.source
            .get(span.start as usize..span.end as usize)
            .unwrap_or_default()
    }

    fn flag(&mut self, rule: RuleId, capability: Capability, detail: String, span: Span) {
        let shown = match self.context.last() {
            Some(outer)
                if outer.size() <= 160 && outer.start <= span.start && span.end <= outer.end =>
            {
                *outer
            }
            _ => span,
        };
        let text = self.text(shown);
        self.out.push(rule, capability, detail, text);
    }

    /// Whether `this` here can be the global object: at the top level, and
    /// in a sloppy-mode function called plainly (`(function(){ return this
    /// })()`); not in a class (strict) nor in a `"use strict"` script's
    /// functions.
    fn this_is_global(&self) -> bool {
        self.functions == 0 || (self.classes == 0 && !self.strict)
    }

    /// Whether this reference is a global object: `globalThis` and
    /// `window` always; the other names unless they resolve to a binding
    /// of the script (scoping is built whenever one of them is met).
    fn is_global(&self, id: &IdentifierReference<'_>) -> bool {
        let name = id.name.as_str();
        if !GLOBAL_OBJECTS.contains(&name) {
            return false;
        }
        if !AMBIGUOUS_GLOBALS.contains(&name) {
            return true;
        }
        let Some(scoping) = self.scoping else {
            self.met_ambiguous_global.set(true);
            return true;
        };
        let Some(reference) = id.reference_id.get() else {
            return true;
        };
        let Some(symbol) = scoping.get_reference(reference).symbol_id() else {
            return true;
        };
        // A top-level `var` or function of a script is a property of the
        // global object, not a new variable: `var self;` leaves `self` the
        // global object. Only `let`, `const`, parameters and bindings in
        // inner scopes hide it.
        let top_level = scoping.symbol_scope_id(symbol) == scoping.root_scope_id();
        let flags = scoping.symbol_flags(symbol);
        top_level
            && (flags.is_function_scoped_declaration() || flags.contains(SymbolFlags::Function))
    }

    fn is_host_object(&self, expr: &Expression<'_>) -> Option<String> {
        match inner(expr) {
            Expression::Identifier(id) => {
                let name = id.name.as_str();
                (self.is_global(id) || HOST_OBJECTS.contains(&name)).then(|| format!("`{name}`"))
            }
            Expression::ThisExpression(_) if self.this_is_global() => {
                Some("`this` (the global object here)".into())
            }
            _ => None,
        }
    }

    /// A member access's object: a global object or top-level `this` as the
    /// object of a member access is judged by its key, not as a value.
    fn visit_member_object(&mut self, object: &Expression<'_>) {
        match inner(object) {
            Expression::Identifier(id) if self.is_global(id) => {}
            Expression::ThisExpression(_) => {}
            other => self.visit_expression(other),
        }
    }

    /// Judges a member read by its static key.
    fn member_name(&mut self, object: &Expression<'_>, key: &str, span: Span) {
        let on_global = matches!(inner(object), Expression::Identifier(id) if self.is_global(id))
            || matches!(inner(object), Expression::ThisExpression(_) if self.this_is_global());
        let on = |name: &str| matches!(inner(object), Expression::Identifier(id) if id.name.as_str() == name);
        match key {
            "constructor" => self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                "`.constructor` reaches the Function constructor (or AsyncFunction, GeneratorFunction) from any function".into(),
                span,
            ),
            "eval" | "execScript" => self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                format!("`{key}` reached as a member"),
                span,
            ),
            "template" if on("_") || on("lodash") || on("underscore") => self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                format!("`_.{key}` compiles text into a function"),
                span,
            ),
            "runInNewContext" | "runInThisContext" | "runInContext" | "compileFunction" => self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                format!("`vm.{key}` runs text as code"),
                span,
            ),
            k if on_global && (DYNAMIC_CODE.contains(&k) || TIMERS.contains(&k) || k == "require" || k == "process" || k == "module") => self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                format!("`{k}` reached through the global object"),
                span,
            ),
            "binding" | "_linkedBinding" | "dlopen" | "mainModule" if on("process") => self.flag(
                RuleId::CodeModuleLoad,
                Capability::ModuleLoad,
                format!("`process.{key}` loads native or host modules"),
                span,
            ),
            "getOwnPropertyDescriptor" | "getOwnPropertyDescriptors" | "getPrototypeOf" if on("Object") => self.flag(
                RuleId::PrototypePollution,
                Capability::PrototypeChain,
                format!("`Object.{key}` walks the prototype chain to any constructor"),
                span,
            ),
            "__proto__" | "setPrototypeOf" | "__defineGetter__" | "__defineSetter__" | "__lookupGetter__" | "__lookupSetter__" => self.flag(
                RuleId::PrototypePollution,
                Capability::PrototypeChain,
                format!("`{key}` changes or walks the prototype chain"),
                span,
            ),
            k if PYTHON_INTERNALS.contains(&k) => self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                format!("`{k}` reaches the Python interpreter's internals"),
                span,
            ),
            _ => {}
        }
    }

    /// A key read by destructuring: the same judgement as a member read.
    fn destructured(&mut self, key: &PropertyKey<'_>, span: Span) {
        match key.static_name() {
            Some(name) => self.binding_name(&name, span),
            None => self.flag(
                RuleId::CodeHostAccess,
                Capability::HostObject,
                "a computed key in destructuring".into(),
                span,
            ),
        }
    }

    fn binding_name(&mut self, name: &str, span: Span) {
        if matches!(name, "constructor" | "__proto__" | "eval" | "execScript") {
            self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                format!("`{name}` taken out by destructuring"),
                span,
            );
        }
    }

    fn check_module(&mut self, source: &Expression<'_>, how: &str, span: Span) {
        match inner(source) {
            Expression::StringLiteral(s) => {
                let name = s.value.as_str();
                if !module_allowed(name) {
                    self.flag(
                        RuleId::CodeModuleLoad,
                        Capability::ModuleLoad,
                        format!("{how} of `{name}`, which is not on the allowed module list"),
                        span,
                    );
                }
            }
            Expression::TemplateLiteral(t) if t.expressions.is_empty() => {
                let name = t
                    .quasis
                    .first()
                    .and_then(|q| q.value.cooked)
                    .map(|c| c.as_str())
                    .unwrap_or_default();
                if !module_allowed(name) {
                    self.flag(
                        RuleId::CodeModuleLoad,
                        Capability::ModuleLoad,
                        format!("{how} of `{name}`, which is not on the allowed module list"),
                        span,
                    );
                }
            }
            _ => self.flag(
                RuleId::CodeModuleLoad,
                Capability::ModuleLoad,
                format!("{how} of a computed module name"),
                span,
            ),
        }
    }

    fn check_static_module(&mut self, name: &str, span: Span) {
        if !module_allowed(name) {
            self.flag(
                RuleId::CodeModuleLoad,
                Capability::ModuleLoad,
                format!("import of `{name}`, which is not on the allowed module list"),
                span,
            );
        }
    }

    /// Calls and `new`: the callee's shape, then its arguments.
    fn check_call(
        &mut self,
        callee: &Expression<'_>,
        arguments: &[Argument<'_>],
        span: Span,
        is_new: bool,
    ) {
        let first = arguments.first().and_then(Argument::as_expression);
        let callee_inner = inner(callee);
        // require(…) and module.require(…)
        let is_require = match callee_inner {
            Expression::Identifier(id) => id.name.as_str() == "require",
            Expression::StaticMemberExpression(m) => m.property.name.as_str() == "require",
            _ => false,
        };
        if is_require {
            match first {
                Some(arg) => self.check_module(arg, "`require`", span),
                None => self.flag(
                    RuleId::CodeModuleLoad,
                    Capability::ModuleLoad,
                    "`require` of a computed module name".into(),
                    span,
                ),
            }
        }
        let name = match callee_inner {
            Expression::Identifier(id) => Some(id.name.as_str()),
            Expression::StaticMemberExpression(m) if matches!(inner(&m.object), Expression::Identifier(id) if self.is_global(id)) => {
                Some(m.property.name.as_str())
            }
            _ => None,
        };
        match name {
            Some("setTimeout" | "setInterval" | "setImmediate") => {
                let code_as_text = first.is_some_and(|arg| {
                    !matches!(
                        inner(arg),
                        Expression::FunctionExpression(_)
                            | Expression::ArrowFunctionExpression(_)
                            | Expression::Identifier(_)
                            | Expression::StaticMemberExpression(_)
                    )
                });
                if code_as_text {
                    self.flag(
                        RuleId::CodeEval,
                        Capability::DynamicCode,
                        format!("`{}` with code as text", name.unwrap_or_default()),
                        span,
                    );
                }
            }
            Some("importScripts") => self.flag(
                RuleId::CodeModuleLoad,
                Capability::ModuleLoad,
                "`importScripts` loads code from a URL".into(),
                span,
            ),
            Some("Worker" | "SharedWorker") if is_new => {
                let eval_option = arguments.get(1).and_then(Argument::as_expression).is_some_and(|options| {
                    matches!(inner(options), Expression::ObjectExpression(o) if o.properties.iter().any(|p| match p {
                        ObjectPropertyKind::ObjectProperty(p) => matches!(&p.key, PropertyKey::StaticIdentifier(k) if k.name.as_str() == "eval")
                            || matches!(&p.key, PropertyKey::StringLiteral(k) if k.value.as_str() == "eval"),
                        ObjectPropertyKind::SpreadProperty(_) => true,
                    }))
                });
                if eval_option {
                    self.flag(
                        RuleId::CodeEval,
                        Capability::DynamicCode,
                        "a Worker with `eval: true` runs text as code".into(),
                        span,
                    );
                }
            }
            _ => {}
        }
        // Calls of a dynamic lookup: `X[a][b](…)`, `[][a](…)`.
        if let Some(m) = computed_key(callee_inner)
            && (computed_key(&m.object).is_some()
                || is_literal_value(&m.object)
                || is_function_value(&m.object))
        {
            self.flag(
                RuleId::CodeHostAccess,
                Capability::HostObject,
                "a call of a property chosen by computed keys, which can reach any built-in function".into(),
                span,
            );
        }
    }
}

impl<'a> Visit<'a> for Judge<'_, '_> {
    fn visit_function(&mut self, it: &Function<'a>, flags: ScopeFlags) {
        self.functions += 1;
        walk::walk_function(self, it, flags);
        self.functions -= 1;
    }

    fn visit_class(&mut self, it: &Class<'a>) {
        self.functions += 1;
        self.classes += 1;
        walk::walk_class(self, it);
        self.classes -= 1;
        self.functions -= 1;
    }

    fn visit_arrow_function_expression(&mut self, it: &ArrowFunctionExpression<'a>) {
        walk::walk_arrow_function_expression(self, it);
    }

    fn visit_identifier_reference(&mut self, it: &IdentifierReference<'a>) {
        let name = it.name.as_str();
        if DYNAMIC_CODE.contains(&name) {
            self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                format!("`{name}` turns text into code"),
                it.span,
            );
        } else if name == "require" {
            self.flag(
                RuleId::CodeModuleLoad,
                Capability::ModuleLoad,
                "`require` used as a value".into(),
                it.span,
            );
        } else if matches!(name, "constructor" | "__proto__") {
            // Inside `with (fn) { constructor(…) }`.
            self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                format!("`{name}` reached as a name (a `with` scope)"),
                it.span,
            );
        } else if TIMERS.contains(&name) {
            self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                format!("`{name}` used as a value, which can run text as code"),
                it.span,
            );
        } else if name == "Reflect" {
            self.flag(
                RuleId::CodeHostAccess,
                Capability::HostObject,
                "`Reflect` reaches any property or constructor by name".into(),
                it.span,
            );
        } else if self.is_global(it) {
            self.flag(
                RuleId::CodeHostAccess,
                Capability::HostObject,
                format!("the global object `{name}` used as a value"),
                it.span,
            );
        } else if name == "__builtins__" {
            self.flag(
                RuleId::CodeHostAccess,
                Capability::HostObject,
                "`__builtins__` holds Python's exec, eval and __import__".into(),
                it.span,
            );
        } else if PYTHON_INTERNALS.contains(&name) || matches!(name, "exec" | "execfile") {
            self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                format!("`{name}` reaches the Python interpreter's internals"),
                it.span,
            );
        }
    }

    fn visit_this_expression(&mut self, it: &ThisExpression) {
        if self.this_is_global() {
            self.flag(
                RuleId::CodeHostAccess,
                Capability::HostObject,
                "`this` used as a value where it is the global object (top level or a sloppy-mode function)".into(),
                it.span,
            );
        }
    }

    fn visit_program(&mut self, it: &Program<'a>) {
        self.strict = it.has_use_strict_directive() || it.source_type.is_module();
        walk::walk_program(self, it);
    }

    fn visit_binding_property(&mut self, it: &BindingProperty<'a>) {
        // `const { constructor: F } = fn`
        self.destructured(&it.key, it.span);
        walk::walk_binding_property(self, it);
    }

    fn visit_assignment_target_property_property(
        &mut self,
        it: &AssignmentTargetPropertyProperty<'a>,
    ) {
        self.destructured(&it.name, it.span);
        walk::walk_assignment_target_property_property(self, it);
    }

    fn visit_assignment_target_property_identifier(
        &mut self,
        it: &AssignmentTargetPropertyIdentifier<'a>,
    ) {
        // `({ constructor } = fn)`
        self.binding_name(it.binding.name.as_str(), it.span);
        walk::walk_assignment_target_property_identifier(self, it);
    }

    fn visit_static_member_expression(&mut self, it: &StaticMemberExpression<'a>) {
        let key = it.property.name.as_str();
        // `x.constructor.name` reads a type's name.
        if key == "name"
            && let Expression::StaticMemberExpression(inner_member) = inner(&it.object)
            && inner_member.property.name.as_str() == "constructor"
        {
            self.visit_member_object(&inner_member.object);
            return;
        }
        self.member_name(&it.object, key, it.span);
        self.visit_member_object(&it.object);
    }

    fn visit_computed_member_expression(&mut self, it: &ComputedMemberExpression<'a>) {
        match it.static_property_info() {
            Some((_, key)) => self.member_name(&it.object, key, it.span),
            None => {
                if let Some(what) = self.is_host_object(&it.object) {
                    self.flag(
                        RuleId::CodeHostAccess,
                        Capability::HostObject,
                        format!("a computed key on {what}"),
                        it.span,
                    );
                } else if is_function_value(&it.object) {
                    self.flag(
                        RuleId::CodeHostAccess,
                        Capability::HostObject,
                        "a computed key on a function, which can reach its constructor".into(),
                        it.span,
                    );
                } else if let Some(m) = computed_key(&it.object)
                    && (is_literal_value(&m.object) || is_function_value(&m.object))
                {
                    self.flag(
                        RuleId::CodeHostAccess,
                        Capability::HostObject,
                        "computed keys chained on a literal, which can reach any built-in function"
                            .into(),
                        it.span,
                    );
                }
            }
        }
        self.visit_member_object(&it.object);
        self.visit_expression(&it.expression);
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        self.context.push(it.span);
        self.check_call(&it.callee, &it.arguments, it.span, false);
        match inner(&it.callee) {
            // Judged by `check_call`, by their arguments.
            Expression::Identifier(id)
                if id.name.as_str() == "require" || TIMERS.contains(&id.name.as_str()) => {}
            Expression::StaticMemberExpression(m)
                if TIMERS.contains(&m.property.name.as_str())
                    && matches!(inner(&m.object), Expression::Identifier(id) if self.is_global(id)) =>
                {}
            _ => self.visit_expression(&it.callee),
        }
        for arg in &it.arguments {
            self.visit_argument(arg);
        }
        self.context.pop();
    }

    fn visit_new_expression(&mut self, it: &NewExpression<'a>) {
        self.within(it.span, |judge| {
            judge.check_call(&it.callee, &it.arguments, it.span, true);
            walk::walk_new_expression(judge, it);
        });
    }

    fn visit_tagged_template_expression(&mut self, it: &TaggedTemplateExpression<'a>) {
        self.within(it.span, |judge| {
            walk::walk_tagged_template_expression(judge, it)
        });
    }

    fn visit_expression_statement(&mut self, it: &ExpressionStatement<'a>) {
        self.within(it.span, |judge| walk::walk_expression_statement(judge, it));
    }

    fn visit_variable_declarator(&mut self, it: &VariableDeclarator<'a>) {
        self.within(it.span, |judge| walk::walk_variable_declarator(judge, it));
    }

    fn visit_import_expression(&mut self, it: &ImportExpression<'a>) {
        self.check_module(&it.source, "`import()`", it.span);
        walk::walk_import_expression(self, it);
    }

    fn visit_import_declaration(&mut self, it: &ImportDeclaration<'a>) {
        self.check_static_module(it.source.value.as_str(), it.span);
    }

    fn visit_export_from_declaration(&mut self, it: &ExportFromDeclaration<'a>) {
        self.check_static_module(it.source.value.as_str(), it.span);
    }

    fn visit_export_all_declaration(&mut self, it: &ExportAllDeclaration<'a>) {
        self.check_static_module(it.source.value.as_str(), it.span);
    }

    fn visit_string_literal(&mut self, it: &StringLiteral<'a>) {
        // A key handed to `Reflect.get`, `Object.getOwnPropertyDescriptor`
        // or a helper: naming the constructor is the finding.
        if matches!(it.value.as_str(), "constructor" | "__proto__") {
            self.flag(
                RuleId::CodeEval,
                Capability::DynamicCode,
                format!(
                    "the string `{}` names the way to the Function constructor",
                    it.value
                ),
                it.span,
            );
        }
    }

    fn visit_unary_expression(&mut self, it: &UnaryExpression<'a>) {
        // `typeof window`, `typeof eval` only ask whether a name exists.
        if it.operator == UnaryOperator::Typeof
            && matches!(inner(&it.argument), Expression::Identifier(_))
        {
            return;
        }
        walk::walk_unary_expression(self, it);
    }

    fn visit_binary_expression(&mut self, it: &BinaryExpression<'a>) {
        if it.operator == BinaryOperator::Instanceof
            && matches!(inner(&it.right), Expression::Identifier(id) if id.name.as_str() == "Function")
        {
            self.visit_expression(&it.left);
            return;
        }
        if it.operator.is_equality() {
            // `x.constructor === Object` compares, it does not call; and
            // `key === 'constructor'` is how a merge guards against it.
            for side in [&it.left, &it.right] {
                match inner(side) {
                    Expression::StaticMemberExpression(m)
                        if m.property.name.as_str() == "constructor" =>
                    {
                        self.visit_member_object(&m.object);
                    }
                    Expression::StringLiteral(_) => {}
                    other => self.visit_expression(other),
                }
            }
            return;
        }
        walk::walk_binary_expression(self, it);
    }

    fn visit_assignment_expression(&mut self, it: &AssignmentExpression<'a>) {
        // `Array.prototype.x = …`, `Object.prototype[k] = …`
        let target_object = match &it.left {
            AssignmentTarget::StaticMemberExpression(m) => Some(&m.object),
            AssignmentTarget::ComputedMemberExpression(m) => Some(&m.object),
            _ => None,
        };
        if let Some(object) = target_object {
            let builtin_prototype = |e: &Expression<'_>| {
                matches!(inner(e), Expression::StaticMemberExpression(p)
                    if p.property.name.as_str() == "prototype"
                        && matches!(inner(&p.object), Expression::Identifier(id) if BUILTINS.contains(&id.name.as_str())))
            };
            let is_builtin_prototype = builtin_prototype(object)
                || matches!(&it.left, AssignmentTarget::StaticMemberExpression(m) if m.property.name.as_str() == "prototype"
                    && matches!(inner(&m.object), Expression::Identifier(id) if BUILTINS.contains(&id.name.as_str())));
            if is_builtin_prototype {
                self.flag(
                    RuleId::PrototypePollution,
                    Capability::PrototypeChain,
                    "an assignment into a built-in's prototype".into(),
                    it.span(),
                );
            }
        }
        walk::walk_assignment_expression(self, it);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_modules() {
        assert!(module_allowed("lodash"));
        assert!(module_allowed("lodash/get"));
        assert!(module_allowed("lodash.get"));
        assert!(module_allowed("node:crypto"));
        assert!(!module_allowed("fs"));
        assert!(!module_allowed("node:child_process"));
        assert!(!module_allowed("@evil/lodash"));
        assert!(!module_allowed("lodashx"));
    }
}
