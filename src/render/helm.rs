//! The `helm` binary, run for `helm template` only, bounded in time and output, with a
//! private home (it reads no user configuration and writes no state anywhere else), and
//! with every argument checked before it goes on the command line: stack files arrive in
//! pull requests, and a release name like `--post-renderer=…` must never reach helm as a
//! flag.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::chart::ChartError;
use crate::cleanup::Tracked;
use crate::process::{ProcessError, run_bounded};

/// The oldest helm whose `template` behaves as landscape expects.
pub const MIN_HELM: (u64, u64) = (3, 12);

/// How long one `helm template` may run (`LANDSCAPE_HELM_TIMEOUT` overrides it).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The most output helm may write for one chart.
const OUTPUT_LIMIT: u64 = 256 * 1024 * 1024;

/// The helm binary to use: `LANDSCAPE_HELM`, else `helm` on PATH.
fn find_helm() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LANDSCAPE_HELM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("helm"))
        .find(|p| p.is_file())
}

/// `v3.22.0` → (3, 22).
pub fn parse_version(v: &str) -> Option<(u64, u64)> {
    let mut parts = v.trim().trim_start_matches('v').split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn timeout() -> Duration {
    std::env::var("LANDSCAPE_HELM_TIMEOUT")
        .ok()
        .and_then(|t| crate::duration::parse(&t).ok())
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// The helm binary that would render, identified without running it: its path, size and
/// modification time. Render cache keys carry this identity, so replacing helm invalidates
/// the cache while a fully cached render never starts helm at all.
pub struct HelmBinary {
    path: PathBuf,
    pub identity: String,
}

impl HelmBinary {
    pub fn locate(components: &[String]) -> Result<HelmBinary, ChartError> {
        let missing = || ChartError::HelmMissing {
            components: components.to_vec(),
        };
        let path = find_helm().ok_or_else(missing)?;
        let meta = std::fs::metadata(&path).map_err(|_| missing())?;
        if !meta.is_file() {
            return Err(missing());
        }
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let identity = format!("{}:{}:{modified}", path.display(), meta.len());
        Ok(HelmBinary { path, identity })
    }
}

/// A helm ready to render.
pub struct Helm {
    path: PathBuf,
    home: tempfile::TempDir,
    _tracked: Tracked,
}

/// What `helm template` is asked to render.
pub struct Template<'a> {
    pub release: &'a str,
    pub archive: &'a Path,
    pub namespace: &'a str,
    pub values: &'a str,
    pub kube_version: &'a str,
    pub api_versions: &'a [String],
}

impl Helm {
    /// Checks that `binary` runs and is recent enough, for the `components` whose charts
    /// it is about to render.
    pub fn start(binary: &HelmBinary, components: Vec<String>) -> Result<Helm, ChartError> {
        let home = tempfile::tempdir().map_err(|e| ChartError::Render {
            component: components.join(","),
            chart: String::new(),
            message: format!("cannot create a temporary directory: {e}"),
        })?;
        let helm = Helm {
            path: binary.path.clone(),
            _tracked: Tracked::new(home.path()),
            home,
        };
        let out = run_bounded(
            helm.command()
                .args(["version", "--template", "{{.Version}}"]),
            Duration::from_secs(30),
            4096,
        )
        .map_err(|_| ChartError::HelmMissing {
            components: components.clone(),
        })?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        match parse_version(&version) {
            Some(v) if v >= MIN_HELM => Ok(helm),
            _ => Err(ChartError::HelmTooOld {
                found: if version.is_empty() {
                    "(unknown version)".into()
                } else {
                    version
                },
                components,
            }),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.path);
        for (var, dir) in [
            ("HELM_CACHE_HOME", "cache"),
            ("HELM_CONFIG_HOME", "config"),
            ("HELM_DATA_HOME", "data"),
        ] {
            cmd.env(var, self.home.path().join(dir));
        }
        cmd.env_remove("KUBECONFIG").env("HELM_KUBECONTEXT", "");
        cmd
    }

    /// Runs `helm template`; Err is the reason, for the caller to attribute.
    pub fn template(&self, t: &Template) -> Result<String, String> {
        check_arguments(t)?;
        // A private file (mode 0600, removed when dropped): values may hold credentials.
        let values_file = tempfile::Builder::new()
            .prefix("landscape-values-")
            .suffix(".yaml")
            .tempfile()
            .map_err(|e| format!("cannot write the values file: {e}"))?;
        let _tracked = Tracked::new(values_file.path());
        std::fs::write(values_file.path(), t.values)
            .map_err(|e| format!("cannot write the values file: {e}"))?;
        let mut cmd = self.command();
        cmd.arg("template")
            .args(["--namespace", t.namespace])
            .arg("--include-crds")
            .arg("--values")
            .arg(values_file.path())
            .args(["--kube-version", t.kube_version]);
        for api in t.api_versions {
            cmd.args(["--api-versions", api]);
        }
        // Positional arguments after `--`: nothing in them can be read as a flag.
        cmd.arg("--").arg(t.release).arg(t.archive);
        let limit = timeout();
        let out = run_bounded(&mut cmd, limit, OUTPUT_LIMIT).map_err(|e| match e {
            ProcessError::Spawn(e) => format!("cannot run {}: {e}", self.path.display()),
            other => format!("helm template: {other}"),
        })?;
        if !out.success {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let message: Vec<&str> = stderr
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            return Err(format!("helm template failed: {}", message.join(" ")));
        }
        String::from_utf8(out.stdout).map_err(|_| "helm wrote output that is not UTF-8".into())
    }
}

/// Every argument that goes to helm, checked against what it may be.
fn check_arguments(t: &Template) -> Result<(), String> {
    if !crate::k8s::names::is_helm_release(t.release) {
        return Err(format!(
            "release name `{}` is not valid (at most 53 lowercase letters, digits and dashes)",
            t.release
        ));
    }
    if !crate::k8s::names::is_dns1123_label(t.namespace) {
        return Err(format!("namespace `{}` is not valid", t.namespace));
    }
    if !is_kube_version(t.kube_version) {
        return Err(format!(
            "`{}` is not a Kubernetes version (v1.36.0)",
            t.kube_version
        ));
    }
    if let Some(bad) = t.api_versions.iter().find(|a| !is_api_version(a)) {
        return Err(format!(
            "`{bad}` is not an API version (group/version[/Kind])"
        ));
    }
    Ok(())
}

/// `v1.36.3`, `1.36`, `v1.36.0-eks-1`.
pub fn is_kube_version(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let mut parts = v.splitn(3, '.');
    let numeric =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    numeric(parts.next())
        && numeric(
            parts
                .next()
                .map(|p| p.split(['-', '+']).next().unwrap_or(p)),
        )
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
}

/// `apps/v1`, `v1`, `monitoring.coreos.com/v1/ServiceMonitor`.
pub fn is_api_version(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 320
        && !v.starts_with('-')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("v3.22.0"), Some((3, 22)));
        assert_eq!(parse_version("v4.3.1"), Some((4, 3)));
        assert!(parse_version("nope").is_none());
        assert!((3, 9) < MIN_HELM);
    }

    #[test]
    fn arguments_that_could_be_flags_never_reach_helm() {
        let t = |release: &'static str, kube: &'static str, apis: &'static [String]| Template {
            release,
            archive: Path::new("/x.tgz"),
            namespace: "ns",
            values: "",
            kube_version: kube,
            api_versions: apis,
        };
        assert!(check_arguments(&t("--post-renderer=/bin/sh", "v1.36.0", &[])).is_err());
        assert!(check_arguments(&t("ok", "--set=x", &[])).is_err());
        assert!(check_arguments(&t("ok", "v1.36.0-eks-1", &[])).is_ok());
        assert!(is_api_version("monitoring.coreos.com/v1/ServiceMonitor"));
        assert!(!is_api_version("--post-renderer"));
    }
}
