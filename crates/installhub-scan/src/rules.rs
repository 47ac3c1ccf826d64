//! The rule table. One row per rule id, so the README, the SARIF `rules[]`
//! and the verdict all read the same facts; detection code refers to rows by
//! [`RuleId`] rather than by string, so a typo cannot invent a rule.

use crate::report::{Capability, Severity, Verdict};

/// One scan rule: what it flags, how bad it is, and what it does to the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, used in findings and SARIF (`ruleId`).
    pub id: &'static str,
    /// Default severity of its findings (advisory findings carry the
    /// advisory's own severity instead).
    pub severity: Severity,
    /// `Fail` or `Warn`: the least verdict one finding of this rule causes.
    pub verdict: Verdict,
    /// One line, for SARIF `shortDescription`.
    pub title: &'static str,
    /// Why it matters, for SARIF `fullDescription`.
    pub rationale: &'static str,
}

/// Index of a row in [`RULES`]; the order below is the order of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum RuleId {
    CodeEval,
    CodeProcess,
    CodeModuleLoad,
    CodeHostAccess,
    PrototypePollution,
    TemplateEscape,
    TemplateInjection,
    TemplateInterpolation,
    SecretPrivateKey,
    SecretAwsAccessKey,
    SecretGithubToken,
    SecretSlackToken,
    SecretBearerToken,
    SecretJwt,
    SecretUrlCredentials,
    SecretAssignment,
    PlainHttp,
    VulnerableLibrary,
    UnverifiableLibraryVersion,
}

impl RuleId {
    pub(crate) fn rule(self) -> &'static Rule {
        &RULES[self as usize]
    }

    /// What the findings of a code rule say the code can reach.
    pub(crate) fn capability(self) -> Option<Capability> {
        match self {
            RuleId::CodeEval | RuleId::TemplateEscape => Some(Capability::DynamicCode),
            RuleId::CodeProcess => Some(Capability::ProcessSpawn),
            RuleId::CodeModuleLoad => Some(Capability::ModuleLoad),
            RuleId::CodeHostAccess => Some(Capability::HostObject),
            RuleId::PrototypePollution => Some(Capability::PrototypeChain),
            _ => None,
        }
    }

    pub(crate) fn id(self) -> &'static str {
        self.rule().id
    }

    /// Bit for per-string de-duplication (fewer than 32 rules).
    pub(crate) fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// The rule table, in [`RuleId`] order.
static RULES: [Rule; 19] = [
    Rule {
        id: "code-eval",
        severity: Severity::Critical,
        verdict: Verdict::Fail,
        title: "Dynamic code evaluation",
        rationale: "eval, new Function/Function(...), setTimeout/setInterval with a string, vm.runIn*Context, \
                    script engines, PowerShell Invoke-Expression: text becomes code at run time, so a package can \
                    run anything in the importing tenant (Power Apps checker web-avoid-eval). Also matched after \
                    decoding escapes, joining string concatenations, String.fromCharCode and atob/base64.",
    },
    Rule {
        id: "code-process",
        severity: Severity::Critical,
        verdict: Verdict::Fail,
        title: "Process spawning",
        rationale: "child_process, Runtime.getRuntime().exec, ProcessBuilder, System.Diagnostics.Process / \
                    Process.Start, os.system/os.popen, subprocess, PHP system/shell_exec, PowerShell \
                    Start-Process, WScript.Shell, xp_cmdshell: a definition must never start operating-system \
                    processes.",
    },
    Rule {
        id: "code-module-load",
        severity: Severity::High,
        verdict: Verdict::Fail,
        title: "Module loading",
        rationale: "require(...), dynamic import(...), __import__, importlib, Assembly.Load, Class.forName, \
                    process.binding/mainModule: loading modules gives a script the file system, network and \
                    process APIs the platform does not grant it. The word `required` is not module loading; \
                    the call `require(` is.",
    },
    Rule {
        id: "code-host-access",
        severity: Severity::High,
        verdict: Verdict::Fail,
        title: "Computed access to the host's objects",
        rationale: "A computed key on a global object (globalThis, window, self, top-level this), on a module, \
                    process or built-in object, or on the Python builtins and namespaces (getattr with a computed \
                    name, globals()[k]); a global object handed around as a value; a call of a property chosen by \
                    computed keys on a literal or a function. Whatever the key computes to, it can name eval or \
                    require, so the computed key is itself the finding.",
    },
    Rule {
        id: "prototype-pollution",
        severity: Severity::High,
        verdict: Verdict::Fail,
        title: "Prototype pollution",
        rationale: "__proto__, constructor.constructor, constructor[\"prototype\"], Object.prototype assignment, \
                    and the object keys `__proto__` or `constructor` → `prototype`: merging such a definition \
                    into JavaScript objects changes every object of the process, and constructor.constructor \
                    reaches the Function constructor.",
    },
    Rule {
        id: "template-escape",
        severity: Severity::Critical,
        verdict: Verdict::Fail,
        title: "Template escape (server-side template injection)",
        rationale: "A template expression ({{..}}, ${..}, #{..}, {%..%}, <%..%>) that reaches the language \
                    runtime: constructor access, Python dunder attributes (__class__, __globals__), SpEL T(java..), \
                    getClass/forName, calls to eval/exec/system/require, Freemarker Execute, and Log4Shell \
                    ${jndi:..} lookups including nested ${${lower:j}ndi:..} forms.",
    },
    Rule {
        id: "template-injection",
        severity: Severity::High,
        verdict: Verdict::Fail,
        title: "Untrusted input interpolated into executable text",
        rationale: "A placeholder whose value comes from outside (input, trigger, request, body, query, params, \
                    headers, payload, event, form, user, webhook) is spliced into a field the platform executes \
                    (script, code, expression, command, query, sql, condition, ...): whoever sends the input \
                    writes code (zizmor template-injection, actionlint). Pass it as a parameter instead.",
    },
    Rule {
        id: "template-interpolation",
        severity: Severity::Medium,
        verdict: Verdict::Warn,
        title: "Computed value interpolated into executable text",
        rationale: "A placeholder of unknown trust (a previous step's output, fetched data) is spliced into \
                    executable text. Placeholders that only read configuration (env, config, vars, secrets, \
                    settings, tenant) are not reported.",
    },
    Rule {
        id: "secret-private-key",
        severity: Severity::High,
        verdict: Verdict::Warn,
        title: "Hard-coded private key",
        rationale: "A PEM private key (-----BEGIN ... PRIVATE KEY----- followed by key material) travels with \
                    the package to every tenant that installs it.",
    },
    Rule {
        id: "secret-aws-access-key",
        severity: Severity::High,
        verdict: Verdict::Warn,
        title: "Hard-coded AWS access key id",
        rationale: "An AWS access key id (AKIA/ASIA... 20 characters). AWS's documented example key \
                    (…EXAMPLE) is ignored.",
    },
    Rule {
        id: "secret-github-token",
        severity: Severity::High,
        verdict: Verdict::Warn,
        title: "Hard-coded GitHub token",
        rationale: "A GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_).",
    },
    Rule {
        id: "secret-slack-token",
        severity: Severity::High,
        verdict: Verdict::Warn,
        title: "Hard-coded Slack token or webhook",
        rationale: "A Slack token (xoxb-, xoxp-, ...) or incoming-webhook URL.",
    },
    Rule {
        id: "secret-bearer-token",
        severity: Severity::High,
        verdict: Verdict::Warn,
        title: "Hard-coded bearer token",
        rationale: "`Bearer <token>` with a literal token of 20 or more characters (letters and digits); \
                    `Bearer {{token}}` or `Bearer ${TOKEN}` is a reference and is not reported.",
    },
    Rule {
        id: "secret-jwt",
        severity: Severity::Medium,
        verdict: Verdict::Warn,
        title: "Hard-coded JSON Web Token",
        rationale: "A JWT (eyJ...eyJ...) whose header decodes to a JSON object with `alg` or `typ`.",
    },
    Rule {
        id: "secret-url-credentials",
        severity: Severity::High,
        verdict: Verdict::Warn,
        title: "Credentials in a URL",
        rationale: "scheme://user:password@host with a literal password.",
    },
    Rule {
        id: "secret-assignment",
        severity: Severity::Medium,
        verdict: Verdict::Warn,
        title: "Hard-coded password or key",
        rationale: "A key named like password, secret, apiKey, accessKey, clientSecret or *token with a literal \
                    value, or `password=...` in a connection string: not empty, not a placeholder \
                    ({{..}}, ${..}, $VAR, %VAR%, <..>), not a vault reference, not a mask (****).",
    },
    Rule {
        id: "plain-http",
        severity: Severity::Low,
        verdict: Verdict::Warn,
        title: "Plain http:// endpoint",
        rationale: "Traffic to an http:// endpoint can be read and changed on the way. Loopback hosts \
                    (localhost, 127.0.0.0/8, [::1]), reserved example domains, well-known XML/JSON namespace \
                    identifiers and prose fields (description, title, ...) are not reported.",
    },
    Rule {
        id: "vulnerable-library",
        severity: Severity::High,
        verdict: Verdict::Warn,
        title: "Library with a known vulnerability",
        rationale: "A `libraries` entry matches an OSV advisory (ecosystem, name and version range). \
                    The finding carries the advisory's severity; a Critical advisory fails the scan, \
                    any other warns.",
    },
    Rule {
        id: "unverifiable-library-version",
        severity: Severity::Low,
        verdict: Verdict::Warn,
        title: "Library version cannot be checked against an advisory",
        rationale: "An advisory names this package, but the declared version (or the advisory's range) cannot \
                    be ordered in the ecosystem's version scheme, so the scan cannot tell whether it is \
                    affected. Declare an exact released version.",
    },
];

/// The rule table, in a fixed order (the README documents it).
pub fn rules() -> &'static [Rule] {
    &RULES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_in_enum_order() {
        let ids: Vec<&str> = rules().iter().map(|r| r.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len());
        assert_eq!(RuleId::CodeEval.id(), "code-eval");
        assert_eq!(RuleId::PlainHttp.id(), "plain-http");
        assert_eq!(
            RuleId::UnverifiableLibraryVersion.id(),
            "unverifiable-library-version"
        );
        assert!(rules().iter().all(|r| r.verdict != Verdict::Pass));
    }
}
