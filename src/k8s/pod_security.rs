//! The Pod Security Standards level a pod needs — `privileged`, `baseline` or
//! `restricted` — judged from its spec the way Pod Security Admission judges it, for the
//! controls that matter in practice: host namespaces, privileged containers, hostPath
//! volumes, host ports and added capabilities (baseline); running as non-root, no
//! privilege escalation, dropped capabilities and a seccomp profile (restricted).

use serde_json::Value;

/// A Pod Security Standards level, least to most restrictive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "privileged" => Some(Level::Privileged),
            "baseline" => Some(Level::Baseline),
            "restricted" => Some(Level::Restricted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

/// Capabilities the baseline level lets a container add.
const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The most restrictive level `spec` (a pod spec) passes, and why it fails the next one.
pub fn allowed_level(spec: &Value) -> (Level, Vec<String>) {
    let beyond_baseline = baseline_violations(spec);
    if !beyond_baseline.is_empty() {
        return (Level::Privileged, beyond_baseline);
    }
    let beyond_restricted = restricted_violations(spec);
    if !beyond_restricted.is_empty() {
        return (Level::Baseline, beyond_restricted);
    }
    (Level::Restricted, Vec::new())
}

fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    ["containers", "initContainers", "ephemeralContainers"]
        .into_iter()
        .filter_map(|k| spec.get(k).and_then(Value::as_array))
        .flatten()
}

fn flag(v: &Value, pointer: &str) -> bool {
    v.pointer(pointer).and_then(Value::as_bool) == Some(true)
}

fn baseline_violations(spec: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for ns in ["hostNetwork", "hostPID", "hostIPC"] {
        if flag(spec, &format!("/{ns}")) {
            out.push(ns.to_string());
        }
    }
    let host_path = spec
        .get("volumes")
        .and_then(Value::as_array)
        .is_some_and(|vs| vs.iter().any(|v| v.get("hostPath").is_some()));
    if host_path {
        out.push("hostPath volumes".into());
    }
    for c in containers(spec) {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
        if flag(c, "/securityContext/privileged") {
            out.push(format!("container {name} is privileged"));
        }
        let host_port = c.get("ports").and_then(Value::as_array).is_some_and(|ps| {
            ps.iter()
                .any(|p| p.get("hostPort").and_then(Value::as_u64).unwrap_or(0) > 0)
        });
        if host_port {
            out.push(format!("container {name} uses a host port"));
        }
        for cap in string_list(c, "/securityContext/capabilities/add") {
            if !BASELINE_CAPABILITIES.contains(&cap) {
                out.push(format!("container {name} adds {cap}"));
            }
        }
    }
    out
}

fn restricted_violations(spec: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let pod_non_root = flag(spec, "/securityContext/runAsNonRoot");
    let pod_seccomp = seccomp_ok(spec.pointer("/securityContext/seccompProfile/type"));
    for c in containers(spec) {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
        if !(pod_non_root || flag(c, "/securityContext/runAsNonRoot")) {
            out.push(format!("container {name} may run as root (runAsNonRoot)"));
        }
        if c.pointer("/securityContext/allowPrivilegeEscalation")
            .and_then(Value::as_bool)
            != Some(false)
        {
            out.push(format!("container {name} allows privilege escalation"));
        }
        if !string_list(c, "/securityContext/capabilities/drop").contains(&"ALL") {
            out.push(format!("container {name} does not drop ALL capabilities"));
        }
        if !(pod_seccomp || seccomp_ok(c.pointer("/securityContext/seccompProfile/type"))) {
            out.push(format!("container {name} has no seccomp profile"));
        }
    }
    out
}

fn seccomp_ok(kind: Option<&Value>) -> bool {
    matches!(
        kind.and_then(Value::as_str),
        Some("RuntimeDefault" | "Localhost")
    )
}

fn string_list<'a>(v: &'a Value, pointer: &str) -> Vec<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn levels_follow_the_pod_security_standards() {
        let restricted = json!({
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
        });
        assert_eq!(allowed_level(&restricted).0, Level::Restricted);
        let plain = json!({"containers": [{"name": "c"}]});
        let (level, why) = allowed_level(&plain);
        assert_eq!(level, Level::Baseline);
        assert!(why.iter().any(|w| w.contains("runAsNonRoot")), "{why:?}");
        let agent = json!({"hostNetwork": true, "containers": [{"name": "a", "securityContext": {"privileged": true}}]});
        let (level, why) = allowed_level(&agent);
        assert_eq!(level, Level::Privileged);
        assert_eq!(why, ["hostNetwork", "container a is privileged"]);
        let caps = json!({"containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]});
        assert_eq!(allowed_level(&caps).0, Level::Privileged);
        assert!(Level::Restricted > Level::Baseline);
    }
}
