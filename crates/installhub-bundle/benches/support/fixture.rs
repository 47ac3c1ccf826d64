//! A realistic, reproducible export for the benchmark and the comparison
//! script: `count` artifacts of about `bytes` of pretty JSON each, with the
//! mix of repeated keys and varied values that real definitions have (so
//! compression does real work), references only to earlier artifacts (so
//! index order is an install order), and ids that sort in that order.

use installhub_bundle::ManifestInput;
use installhub_domain::{
    Artifact, ArtifactId, ArtifactStatus, ArtifactType, PackageId, PackageType, Reference, TenantId,
};
use serde_json::{Map, Value, json};

pub const TENANT: &str = "tenant-bench";

/// splitmix64: tiny, seedable, good enough to vary values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn hex(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            out.push_str(&format!("{:016x}", self.next()));
        }
        out.truncate(len);
        out
    }
}

const WORDS: &[&str] = &[
    "employee",
    "manager",
    "approval",
    "onboarding",
    "laptop",
    "request",
    "department",
    "payroll",
    "review",
    "contract",
    "start",
    "date",
    "badge",
    "access",
    "training",
    "policy",
    "benefits",
    "equipment",
    "notify",
    "escalate",
    "deadline",
    "region",
    "cost",
    "center",
    "welcome",
    "email",
    "document",
    "signature",
    "background",
    "check",
    "orientation",
    "schedule",
    "team",
    "lead",
];
const STEP_KINDS: &[&str] = &[
    "userTask",
    "serviceTask",
    "scriptTask",
    "gateway",
    "timer",
    "notification",
];
const FIELD_TYPES: &[&str] = &[
    "text", "number", "date", "select", "checkbox", "email", "lookup",
];

fn sentence(rng: &mut Rng, words: u64) -> String {
    let n = 3 + rng.below(words);
    (0..n)
        .map(|_| rng.pick(WORDS))
        .collect::<Vec<_>>()
        .join(" ")
}

fn step(rng: &mut Rng, index: usize) -> Value {
    let kind = rng.pick(STEP_KINDS);
    let mut fields = Vec::new();
    for _ in 0..2 + rng.below(4) {
        fields.push(json!({
            "key": format!("{}_{}", rng.pick(WORDS), rng.pick(WORDS)),
            "label": sentence(rng, 3),
            "type": rng.pick(FIELD_TYPES),
            "required": rng.below(2) == 0,
            "maxLength": 16 + rng.below(240),
        }));
    }
    json!({
        "id": format!("step-{index}-{}", rng.hex(8)),
        "name": sentence(rng, 4),
        "kind": kind,
        "assignee": { "role": rng.pick(WORDS), "fallbackUser": format!("user-{}", rng.below(10_000)) },
        "timeoutMinutes": 15 * (1 + rng.below(96)),
        "retry": { "maxAttempts": 1 + rng.below(5), "backoffSeconds": 2u64.pow(rng.below(8) as u32) },
        "condition": format!("${{{}.{}}} {} {}", rng.pick(WORDS), rng.pick(WORDS),
            if rng.below(2) == 0 { ">=" } else { "==" }, rng.below(1000)),
        "form": { "fields": fields },
        "description": sentence(rng, 20),
        "correlationKey": rng.hex(32),
    })
}

/// One definition of roughly `bytes` bytes once pretty-printed.
fn definition(rng: &mut Rng, bytes: usize) -> Value {
    let mut steps = Vec::new();
    let mut size = 0;
    while size < bytes {
        let s = step(rng, steps.len());
        // In the file a step sits three levels deep: six more spaces a line.
        let text = serde_json::to_string_pretty(&s).unwrap_or_default();
        size += text.len() + 6 * text.lines().count();
        steps.push(s);
    }
    let mut meta = Map::new();
    meta.insert("owner".into(), json!(format!("team-{}", rng.pick(WORDS))));
    meta.insert("revision".into(), json!(rng.below(500)));
    meta.insert("checksum".into(), json!(rng.hex(64)));
    json!({ "schemaVersion": 3, "metadata": meta, "steps": steps })
}

/// `count` artifacts of about `bytes` each, reproducible.
pub fn artifacts(count: usize, bytes: usize) -> Vec<Artifact> {
    let mut rng = Rng(0x1A57_A11B);
    (0..count)
        .map(|i| {
            let artifact_type = ArtifactType::ALL[i % ArtifactType::ALL.len()];
            let references = (0..rng.below(4))
                .filter(|_| i > 0)
                .map(|_| Reference {
                    artifact_id: id(rng.below(i as u64) as usize),
                    tenant_id: None,
                })
                .collect();
            Artifact {
                tenant_id: TenantId::parse(TENANT).unwrap(),
                id: id(i),
                artifact_type,
                name: sentence(&mut rng, 3),
                version: format!("{}.{}.{}", 1 + rng.below(3), rng.below(10), rng.below(20)),
                status: ArtifactStatus::Published,
                definition: definition(&mut rng, bytes),
                references,
                libraries: vec![],
                updated_at: chrono::DateTime::UNIX_EPOCH,
            }
        })
        .collect()
}

/// Ids that sort in index order, so sorted ids are an install order.
pub fn id(index: usize) -> ArtifactId {
    ArtifactId::parse(&format!("{index:05}-artifact")).unwrap()
}

pub fn input(order: Vec<ArtifactId>) -> ManifestInput {
    ManifestInput {
        package_id: PackageId::parse("pkg-0b5e3f0a-7c1d-4e2f-9a8b-6c5d4e3f2a1b").unwrap(),
        name: "Benchmark Suite".into(),
        package_type: PackageType::Workflow,
        version: "1.0.0".into(),
        description: Some("500 realistic artifacts".into()),
        author: None,
        tags: vec!["bench".into()],
        source_tenant_id: TenantId::parse(TENANT).unwrap(),
        exported_at: "2026-05-25T09:00:00Z".parse().unwrap(),
        exported_by: "bench@company.com".into(),
        install_order: order,
        package_dependencies: vec![],
    }
}
