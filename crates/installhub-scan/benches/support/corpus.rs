//! A realistic, clean corpus of artifact definitions for the scan benchmark
//! and `examples/scan_corpus.rs`: workflows with HTTP steps, JavaScript and
//! Python scripts (functions, regexes, string building, template literals),
//! placeholders passed as parameters, conditions on configuration, forms,
//! e-mail bodies and https URLs. It must scan clean: the benchmark measures
//! the common case, and asserts it.

use serde_json::{Value, json};

/// A small deterministic generator, so every run scans the same bytes.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }
}

const WORDS: &[&str] = &[
    "employee",
    "manager",
    "approval",
    "request",
    "onboarding",
    "account",
    "invoice",
    "customer",
    "order",
    "shipment",
    "region",
    "schedule",
    "welcome",
    "review",
    "record",
    "update",
    "notify",
    "department",
    "budget",
    "contract",
    "renewal",
    "ticket",
    "priority",
    "escalation",
    "summary",
];

const SCRIPTS_JS: &[&str] = &[
    "function normalizeName(value) {\n  if (!value) { return ''; }\n  const parts = value.trim().split(/\\s+/);\n  return parts.map(p => p.charAt(0).toUpperCase() + p.slice(1).toLowerCase()).join(' ');\n}\nconst first = normalizeName(params.firstName);\nconst last = normalizeName(params.lastName);\nreturn { fullName: first + ' ' + last, initials: first[0] + last[0] };",
    "const items = params.lines || [];\nlet total = 0;\nfor (const line of items) {\n  const qty = Number(line.quantity) || 0;\n  const price = Number(line.unitPrice) || 0;\n  total += qty * price;\n}\nconst tax = Math.round(total * params.taxRate * 100) / 100;\nreturn { subtotal: total, tax: tax, total: total + tax, currency: params.currency || 'EUR' };",
    "const match = /^([A-Z]{2})-(\\d{4,8})$/.exec(params.reference);\nif (!match) {\n  throw new Error('Invalid reference: ' + params.reference);\n}\nconst country = match[1];\nconst number = parseInt(match[2], 10);\nreturn { country, number, label: `Ref ${country}/${number}` };",
    "const dueDate = new Date(params.createdAt);\ndueDate.setDate(dueDate.getDate() + (params.priority === 'high' ? 1 : 5));\nconst weekday = dueDate.getDay();\nif (weekday === 0) dueDate.setDate(dueDate.getDate() + 1);\nif (weekday === 6) dueDate.setDate(dueDate.getDate() + 2);\nreturn { dueDate: dueDate.toISOString().slice(0, 10) };",
    "const rows = JSON.parse(params.payloadText || '[]');\nconst byDepartment = {};\nrows.forEach(function (row) {\n  const key = row.department || 'unassigned';\n  byDepartment[key] = (byDepartment[key] || 0) + 1;\n});\nreturn Object.keys(byDepartment).sort().map(k => ({ department: k, count: byDepartment[k] }));",
];

const SCRIPTS_PY: &[&str] = &[
    "def bucket(amount):\n    if amount < 1000:\n        return 'small'\n    if amount < 10000:\n        return 'medium'\n    return 'large'\n\nresult = {'bucket': bucket(float(params['amount'])), 'approved': params['amount'] < params['limit']}\n",
    "lines = [l.strip() for l in params['text'].splitlines() if l.strip()]\nwords = sum(len(l.split()) for l in lines)\nresult = {'lines': len(lines), 'words': words, 'first': lines[0] if lines else None}\n",
];

fn sentence(rng: &mut Lcg, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(rng.pick(WORDS));
    }
    s.push('.');
    s
}

fn step(rng: &mut Lcg, i: usize, j: usize) -> Value {
    match rng.next() % 7 {
        0 => json!({
            "id": format!("fetch-{j}"),
            "type": "http",
            "name": format!("Fetch {}", rng.pick(WORDS)),
            "request": {
                "method": rng.pick(&["GET", "POST", "PUT"]),
                "url": format!("https://api.company.com/v2/{}/{}", rng.pick(WORDS), i),
                "headers": { "Accept": "application/json", "Content-Type": "application/json", "X-Request-Source": "installhub" },
                "query": { "limit": "50", "include": "details" },
                "timeoutMs": 30000
            },
            "params": { "id": "{{input.recordId}}", "tenant": "{{trigger.tenantId}}" },
            "retry": { "attempts": 3, "backoffMs": [500, 2000, 8000] }
        }),
        1 => json!({
            "id": format!("script-{j}"),
            "type": "script",
            "language": "javascript",
            "description": sentence(rng, 12),
            "script": rng.pick(SCRIPTS_JS),
            "params": { "firstName": "{{input.firstName}}", "lastName": "{{input.lastName}}", "lines": "{{steps.fetch.output.lines}}" }
        }),
        2 => json!({
            "id": format!("py-{j}"),
            "type": "script",
            "language": "python",
            "script": rng.pick(SCRIPTS_PY),
            "params": { "amount": "{{input.amount}}", "limit": 5000 }
        }),
        3 => json!({
            "id": format!("branch-{j}"),
            "type": "condition",
            "condition": "{{ env.REGION }} == 'eu' && {{ config.approvalsEnabled }}",
            "then": format!("notify-{}", j + 1),
            "else": "end"
        }),
        4 => json!({
            "id": format!("notify-{j}"),
            "type": "email",
            "to": "{{input.managerEmail}}",
            "cc": ["hr@company.com", "it-onboarding@company.com"],
            "subject": format!("Please review the {} for {{{{input.firstName}}}}", rng.pick(WORDS)),
            "body": format!("Hello,\n\n{}\n\n{}\n\nOpen https://portal.company.com/tasks/{} to approve.\n\nThanks,\nThe People team", sentence(rng, 40), sentence(rng, 30), i * 100 + j)
        }),
        5 => json!({
            "id": format!("form-{j}"),
            "type": "form",
            "title": format!("{} details", rng.pick(WORDS)),
            "fields": [
                { "name": "email", "label": "Work email", "type": "email", "required": true, "validation": { "pattern": "^[^@\\s]+@company\\.com$" } },
                { "name": "startDate", "label": "Start date", "type": "date", "required": true },
                { "name": "department", "label": "Department", "type": "select", "options": ["Sales", "Finance", "Engineering", "Support"] },
                { "name": "notes", "label": "Notes", "type": "textarea", "required": false, "maxLength": 2000, "helpText": sentence(rng, 15) }
            ]
        }),
        _ => json!({
            "id": format!("map-{j}"),
            "type": "transform",
            "mapping": {
                "fullName": "{{steps.script.output.fullName}}",
                "email": "{{input.email}}",
                "department": "{{input.department}}",
                "costCenter": format!("CC-{}", 1000 + (rng.next() % 9000)),
                "tags": [rng.pick(WORDS), rng.pick(WORDS), rng.pick(WORDS)]
            },
            "description": sentence(rng, 20)
        }),
    }
}

/// One workflow definition.
pub fn definition(rng_seed: u64, i: usize) -> Value {
    let mut rng = Lcg(rng_seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let steps: Vec<Value> = (0..12).map(|j| step(&mut rng, i, j)).collect();
    json!({
        "name": format!("{} {} workflow {i}", rng.pick(WORDS), rng.pick(WORDS)),
        "description": sentence(&mut rng, 25),
        "version": format!("1.{}.{}", i % 7, i % 13),
        "trigger": { "type": "webhook", "path": format!("/hooks/{}-{i}", rng.pick(WORDS)), "method": "POST" },
        "variables": { "region": "eu-west-1", "approvalsEnabled": true, "maxAmount": 5000 },
        "steps": steps,
        "outputs": { "status": "{{steps.notify.status}}", "recordId": "{{input.recordId}}" }
    })
}

/// Definitions until their compact JSON reaches `bytes`; returns them with
/// the exact byte count.
pub fn corpus(bytes: usize) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut total = 0;
    let mut i = 0;
    while total < bytes {
        let d = definition(42, i);
        total += serde_json::to_string(&d).map(|s| s.len()).unwrap_or(0);
        out.push(d);
        i += 1;
    }
    (out, total)
}
