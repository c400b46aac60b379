//! The bad-input suite: over a hundred ways to get input wrong — stack files, values,
//! `--set`, templates, sources, charts, the lock, kubeconfigs, flags, durations, names —
//! each run against the test control plane with its audit log on, and each checked for:
//! the documented exit code, one error line naming where the mistake is, no panic, and no
//! write request (create, update, patch, delete) from landscape's user agent while the
//! case ran. Server-side dry runs (`dryRun=All`) write nothing and are not writes.
//!
//! The run writes a summary by category to `target/bad-input-summary.md`
//! (docs/reliability.md keeps the latest).

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use support::{Run, Testbed, run, unique};

/// One case.
struct Case {
    category: &'static str,
    what: &'static str,
    /// Files of the working directory (`landscape.yaml`, values, templates…).
    files: Vec<(String, Vec<u8>)>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    code: i32,
    /// Substrings the one error line must contain (where, and what).
    message: Vec<String>,
}

fn case(category: &'static str, what: &'static str, code: i32) -> Case {
    Case {
        category,
        what,
        files: vec![],
        args: vec![],
        env: vec![],
        code,
        message: vec![],
    }
}

impl Case {
    fn file(mut self, name: &str, text: impl Into<String>) -> Case {
        self.files
            .push((name.to_string(), text.into().into_bytes()));
        self
    }
    fn bytes(mut self, name: &str, data: Vec<u8>) -> Case {
        self.files.push((name.to_string(), data));
        self
    }
    fn executable(mut self, name: &str, text: &str) -> Case {
        self.files
            .push((format!("+x {name}"), text.as_bytes().to_vec()));
        self
    }
    fn args(mut self, args: &[&str]) -> Case {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }
    fn arg(mut self, arg: impl Into<String>) -> Case {
        self.args.push(arg.into());
        self
    }
    fn env(mut self, k: &str, v: impl Into<String>) -> Case {
        self.env.push((k.to_string(), v.into()));
        self
    }
    fn says(mut self, parts: &[&str]) -> Case {
        self.message.extend(parts.iter().map(|p| p.to_string()));
        self
    }
}

/// A stack file with one component `app` rendering `./app`, named `name`.
fn stack(name: &str, extra: &str) -> String {
    format!(
        "name: {name}\ncomponents:\n  app:\n    category: delivery\n    namespace: {name}\n    sources:\n      - templateDir: ./app\n{extra}"
    )
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n";

/// A well-formed project with `app/` holding `template`.
fn project(category: &'static str, what: &'static str, code: i32, template: &str) -> Case {
    let name = unique("bad");
    case(category, what, code)
        .file("landscape.yaml", stack(&name, ""))
        .file("app/app.yaml.hbs", template)
}

fn stack_files() -> Vec<Case> {
    let s = || unique("bad");
    let with = |what: &'static str, text: String, says: &[&str]| {
        case("stack files", what, 2)
            .file("landscape.yaml", text)
            .file("app/cm.yaml", CM)
            .says(says)
    };
    vec![
        with("malformed YAML", format!("name: {}\ncomponents:\n  app: [unclosed\n", s()), &["landscape.yaml:3:"]),
        with("unknown top-level field", format!("name: {}\nflavour: x\n", s()), &["landscape.yaml:2:1", "unknown field `flavour`"]),
        with("unknown component field", stack(&s(), "    replicas: 3\n"), &["landscape.yaml:8:5", "unknown field `replicas`"]),
        with("category of the wrong type", stack(&s(), "").replace("category: delivery", "category: [delivery]"), &["landscape.yaml:4:"]),
        with("unknown category", stack(&s(), "").replace("category: delivery", "category: dessert"), &["landscape.yaml:4:"]),
        with("duplicate component", format!("{}  app:\n    category: delivery\n", stack(&s(), "")), &["duplicate key `app`"]),
        with("invalid component name", stack(&s(), "").replace("  app:", "  App_1:"), &["landscape.yaml:3:3", "component name `App_1` is not valid"]),
        with("invalid stack name", stack("Not_Valid", ""), &["landscape.yaml:1:7", "stack name `Not_Valid` is not valid"]),
        with("unknown profile in extends", format!("name: {}\nextends: smal\n", s()), &["landscape.yaml:2:10", "unknown profile `smal`", "did you mean `small`?"]),
        with("disabling an unknown component", format!("name: {}\nextends: small\ndisable: [lokki]\n", s()), &["landscape.yaml:3:11", "cannot disable `lokki`", "did you mean `loki`?"]),
        with("disabled and configured", format!("name: {}\nextends: small\ndisable: [loki]\ncomponents:\n  loki: {{timeout: 5m}}\n", s()), &["landscape.yaml:5:3", "both disabled and configured"]),
        with("need on an unknown component", stack(&s(), "    needs: [databse]\n"), &["landscape.yaml:8:13", "needs `databse`, which is not in the stack"]),
        with("need on itself", stack(&s(), "    needs: [app]\n"), &["landscape.yaml:8:13", "needs itself"]),
        with("replaces itself", stack(&s(), "    replaces: app\n"), &["landscape.yaml:8:15", "replaces itself"]),
        with("replaces a component still in the stack", format!("{}  other:\n    category: delivery\n    replaces: app\n    sources: [{{templateDir: ./app}}]\n", stack(&s(), "")), &["landscape.yaml:10:15", "replaces `app`, which is still in the stack"]),
        with("unknown replace setting", stack(&s(), "    replace: always\n"), &["landscape.yaml:8:14", "unknown variant `always`"]),
        with("need on a disabled component", format!("name: {}\nextends: small\ndisable: [alloy]\ncomponents:\n  mine:\n    category: delivery\n    needs: [alloy]\n    sources: [{{templateDir: ./app}}]\n", s()), &["landscape.yaml:7:13", "needs `alloy`, which is disabled"]),
        with("disabling what another component needs", format!("name: {}\nextends: small\ndisable: [loki]\n", s()), &["stacks/components/alloy.yaml:", "`alloy` needs `loki`, which is disabled"]),
        with("dependency cycle", format!("name: {}\ncomponents:\n  a: {{category: delivery, needs: [b], sources: [{{templateDir: ./app}}]}}\n  b: {{category: delivery, needs: [a], sources: [{{templateDir: ./app}}]}}\n", s()), &["dependency cycle: a -> b -> a"]),
        with("component without category", format!("name: {}\ncomponents:\n  app:\n    sources: [{{templateDir: ./app}}]\n", s()), &["landscape.yaml:3:3", "has no category"]),
        with("component without sources", format!("name: {}\ncomponents:\n  app: {{category: delivery}}\n", s()), &["has no sources"]),
        with("source of two kinds", stack(&s(), "").replace("      - templateDir: ./app\n", "      - {templateDir: ./app, file: x.yaml}\n"), &["landscape.yaml:7:9", "exactly one of"]),
        with("sha256 on a file source", stack(&s(), "").replace("      - templateDir: ./app\n", "      - {file: x.yaml, sha256: 00}\n"), &["`sha256` pins a `url` source only"]),
        with("malformed sha256", stack(&s(), "").replace("      - templateDir: ./app\n", "      - {url: https://example.com/x.yaml, sha256: xyz}\n"), &["`xyz` is not a sha256"]),
        with("setNamespace on a template", stack(&s(), "").replace("      - templateDir: ./app\n", "      - {templateDir: ./app, setNamespace: true}\n"), &["`setNamespace` applies to `url` and `file`"]),
        with("plain http URL without a pin", stack(&s(), "").replace("      - templateDir: ./app\n", "      - url: http://example.com/x.yaml\n"), &["landscape.yaml:7:9", "plain http"]),
        with("URL of another scheme", stack(&s(), "").replace("      - templateDir: ./app\n", "      - url: ftp://example.com/x.yaml\n"), &["not an http(s) URL"]),
        with("chart without a version", stack(&s(), "").replace("      - templateDir: ./app\n", "      - chart: {repository: https://charts.example.com, name: x, version: \"\"}\n"), &["a chart needs `repository`, `name` and `version`"]),
        with("chart repository over http", stack(&s(), "").replace("      - templateDir: ./app\n", "      - chart: {repository: http://charts.example.com, name: x, version: 1.0.0}\n"), &["not an https URL"]),
        with("chart release that is a flag", stack(&s(), "").replace("      - templateDir: ./app\n", "      - chart: {repository: https://charts.example.com, name: x, version: 1.0.0, release: --post-renderer=/bin/sh}\n"), &["release name `--post-renderer=/bin/sh` is not valid"]),
        with("chart name with a slash", stack(&s(), "").replace("      - templateDir: ./app\n", "      - chart: {repository: https://charts.example.com, name: ../x, version: 1.0.0}\n"), &["names and versions are letters"]),
        with("chart version that is a flag", stack(&s(), "").replace("      - templateDir: ./app\n", "      - chart: {repository: https://charts.example.com, name: x, version: --devel}\n"), &["names and versions are letters"]),
        with("invalid namespace", stack(&s(), "").replace("    namespace: ", "    namespace: Bad_"), &["is not a valid namespace name"]),
        with("timeout that is not a duration", stack(&s(), "    timeout: soon\n"), &["landscape.yaml:8:14", "`soon` is not a duration"]),
        with("timeout of a century", stack(&s(), "    timeout: 876000h\n"), &["landscape.yaml:8:14", "longer than a year"]),
        with("timeout that overflows", stack(&s(), "    timeout: 18446744073709551615s1s\n"), &["longer than a year"]),
        with("unknown built-in template", stack(&s(), "").replace("      - templateDir: ./app\n", "      - template: no-such-folder\n"), &["no built-in template folder `no-such-folder`"]),
        with("readiness rule with an unknown field", stack(&s(), "    readiness: [{kind: X, equalz: 1}]\n"), &["landscape.yaml:8:", "unknown field `equalz`"]),
        with("patch with an unknown field", stack(&s(), "    patches: [{target: {kind: ConfigMap, name: settings}, patchh: x}]\n"), &["landscape.yaml:8:", "unknown field `patchh`"]),
        with("stack file that is a list", "- a\n- b\n".into(), &["landscape.yaml:1:1"]),
    ]
}

fn values_and_set() -> Vec<Case> {
    let base = || {
        case("values", "", 2).file(
            "landscape.yaml",
            format!("name: {}\nextends: small\n", unique("bad")),
        )
    };
    let values = |what: &'static str, text: &str, says: &[&str]| {
        let mut c = base()
            .file("values.yaml", text)
            .args(&["-f", "values.yaml"])
            .says(says);
        c.what = what;
        c
    };
    let set = |what: &'static str, arg: &str, says: &[&str]| {
        let mut c = base().arg("--set").arg(arg).says(says);
        c.category = "--set";
        c.what = what;
        c
    };
    let mut cases = vec![
        values("malformed YAML", "velero: {backup: [\n", &["values.yaml:"]),
        values(
            "not a map",
            "- a\n",
            &["values.yaml", "must be a map of component names to values"],
        ),
        values(
            "unknown component",
            "vellero: {}\n",
            &[
                "values.yaml:1:1",
                "unknown component `vellero`",
                "did you mean `velero`?",
            ],
        ),
        values(
            "typo in a key",
            "velero:\n  backup:\n    bukcet: b\n",
            &[
                "values.yaml:3:5",
                "unknown value `velero.backup.bukcet`",
                "did you mean `bucket`?",
            ],
        ),
        values(
            "duplicate key",
            "velero: {}\nvelero: {}\n",
            &["values.yaml:2:", "duplicate"],
        ),
        values(
            "missing required values",
            "velero: {backup: {provider: aws}}\n",
            &[
                "missing required values",
                "velero.backup.bucket",
                "velero.backup.region",
            ],
        ),
    ];
    let missing = {
        let mut c = base()
            .args(&["-f", "no-such-values.yaml"])
            .says(&["cannot read no-such-values.yaml"]);
        c.what = "values file that does not exist";
        c
    };
    let dir = {
        let mut c = base()
            .file("vals/x", "")
            .args(&["-f", "vals"])
            .says(&["cannot read vals", "not a regular file"]);
        c.what = "values file that is a directory";
        c
    };
    let zero = {
        let mut c = base()
            .args(&["-f", "/dev/zero"])
            .says(&["cannot read /dev/zero", "not a regular file"]);
        c.what = "values file that is a device";
        c
    };
    let huge = {
        let mut c = base()
            .bytes(
                "big.yaml",
                format!(
                    "velero: {{backup: {{bucket: \"{}\"}}}}\n",
                    "x".repeat(17 * 1024 * 1024)
                )
                .into_bytes(),
            )
            .args(&["-f", "big.yaml"])
            .says(&["cannot read big.yaml", "larger than the limit"]);
        c.what = "values file larger than the limit";
        c
    };
    cases.extend([missing, dir, zero, huge]);
    cases.extend([
        set(
            "no equals sign",
            "velero.backup.bucket",
            &["--set velero.backup.bucket", "is not of the form"],
        ),
        set(
            "empty path segment",
            "velero..bucket=b",
            &["--set velero..bucket", "empty path segment"],
        ),
        set("unclosed bracket", "velero.list[1=b", &["unclosed `[`"]),
        set(
            "index that is not a number",
            "velero.list[x]=b",
            &["`x` is not a list index"],
        ),
        set(
            "index beyond the limit",
            "velero.list[100000000000]=b",
            &["is not a list index (0 to 65536)"],
        ),
        set(
            "unknown component",
            "vellero.backup.bucket=b",
            &["--set vellero.backup.bucket", "unknown component `vellero`"],
        ),
        set(
            "unknown key, value not echoed",
            "velero.backup.bukcet=s3cr3t-value",
            &["--set velero.backup.bukcet", "did you mean `bucket`?"],
        ),
        set("component only", "velero=x", &["names no value"]),
        set(
            "trailing bracket text",
            "velero.list[1]x=b",
            &["unexpected `x`"],
        ),
        set(
            "several assignments, one bad",
            "velero.backup.bucket=b,oops",
            &["is not of the form"],
        ),
    ]);
    cases
}

fn templates() -> Vec<Case> {
    let t =
        |what, template: &str, says: &[&str]| project("templates", what, 2, template).says(says);
    vec![
        t(
            "syntax error",
            "data: {{#if values.x}}\n",
            &["app.yaml.hbs", "template syntax"],
        ),
        t(
            "missing variable",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: {{values.nope}}}\n",
            &["app.yaml.hbs:4:", "`values.nope` is not defined"],
        ),
        t(
            "partial that includes itself",
            "{{#*inline \"p\"}}{{> p}}{{/inline}}{{> p}}\n",
            &["partials include each other without end"],
        ),
        t(
            "blocks nested too deep",
            &("{{#if true}}".repeat(100) + &"{{/if}}".repeat(100)),
            &["nest more than 64 deep"],
        ),
        t(
            "computed partial name",
            "{{> (lookup . \"x\")}}\n",
            &["partials must be named literally"],
        ),
        t(
            "huge random string",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, annotations: {landscape.dev/create-only: \"true\"}}\nstringData: {p: {{randAlphaNum 1000000000000}}}\n",
            &["at most 4096"],
        ),
        t(
            "document that is not an object",
            "- a\n- b\n",
            &["not a YAML map"],
        ),
        t(
            "object without a name",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
            &["ConfigMap object has no metadata.name"],
        ),
        t(
            "object without a kind",
            "apiVersion: v1\nmetadata: {name: x}\n",
            &["has no kind"],
        ),
        t(
            "generateName",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, generateName: x-}\n",
            &["generateName"],
        ),
        t(
            "rendered YAML that is malformed",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x\n",
            &["invalid YAML"],
        ),
        t(
            "HTML instead of YAML",
            "<!DOCTYPE html><html></html>\n",
            &["got an HTML page"],
        ),
    ]
}

fn patches_and_objects() -> Vec<Case> {
    let with = |what: &'static str, extra: &str, template: &str, code: i32, says: &[&str]| {
        let name = unique("bad");
        case("patches and objects", what, code)
            .file("landscape.yaml", stack(&name, extra))
            .file("app/app.yaml.hbs", template)
            .says(says)
    };
    vec![
        with(
            "patch whose target matches nothing",
            "    patches: [{target: {kind: ConfigMap, name: nope}, patch: \"data: {a: b}\"}]\n",
            CM,
            2,
            &["patch 1 (ConfigMap nope)", "matches no rendered object"],
        ),
        with(
            "patch that is not YAML",
            "    patches: [{target: {kind: ConfigMap, name: settings}, patch: \"data: [x\"}]\n",
            CM,
            2,
            &["the patch is not valid YAML"],
        ),
        with(
            "patch with a template error",
            "    patches: [{target: {kind: ConfigMap, name: settings}, patch: \"data: {{values.nope}}\"}]\n",
            CM,
            2,
            &["patch 1"],
        ),
        with(
            "object rendered twice",
            "",
            &format!("{CM}---\n{CM}"),
            2,
            &["is rendered twice"],
        ),
        with(
            "object name with capitals",
            "",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Settings}\n",
            2,
            &["ConfigMap", "name `Settings` is not valid"],
        ),
        with(
            "object namespace that is not a name",
            "",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s, namespace: Bad_NS}\n",
            2,
            &["namespace `Bad_NS` is not a valid namespace name"],
        ),
        with(
            "Service name starting with a digit",
            "",
            "apiVersion: v1\nkind: Service\nmetadata: {name: 9lives}\nspec: {ports: [{port: 80}]}\n",
            2,
            &["name `9lives` is not valid for a Service"],
        ),
        with(
            "kind nothing serves",
            "",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
            2,
            &[
                "example.com/v1 Widget is not served by the cluster and no component installs its CRD",
            ],
        ),
        with(
            "field of the wrong type (dry run)",
            "",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typed, namespace: default}\ndata: {a: 1}\n",
            2,
            &["the API server refuses it", "expected string"],
        ),
        with(
            "invalid field value (dry run)",
            "",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: default}\nspec: {replicas: -3, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: x}]}}}\n",
            2,
            &["the API server refuses it"],
        ),
        with(
            "selector that does not match its template (dry run)",
            "",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: default}\nspec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: c}}, spec: {containers: [{name: c, image: x}]}}}\n",
            2,
            &["the API server refuses it"],
        ),
        with(
            "RBAC name with a slash",
            "",
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: a/b}\nrules: []\n",
            2,
            &["name `a/b` is not valid for a ClusterRole"],
        ),
    ]
}

fn sources(mirror: &Path) -> Vec<Case> {
    let with = |what: &'static str, source: String, code: i32, says: &[&str]| {
        let name = unique("bad");
        case("sources", what, code)
            .file(
                "landscape.yaml",
                stack(&name, "").replace(
                    "      - templateDir: ./app\n",
                    &format!("      - {source}\n"),
                ),
            )
            .file("app/cm.yaml", CM)
            .arg("--mirror")
            .arg(mirror.display().to_string())
            .says(says)
    };
    vec![
        with(
            "file source that does not exist",
            "file: no-such.yaml".into(),
            2,
            &["cannot read", "no-such.yaml"],
        ),
        with(
            "file source that is a device",
            "file: /dev/zero".into(),
            2,
            &["/dev/zero", "not a regular file"],
        ),
        with(
            "file source that is a directory",
            "file: ./app".into(),
            2,
            &["not a regular file"],
        ),
        with(
            "template folder that does not exist",
            "templateDir: ./nothing".into(),
            2,
            &["cannot read", "nothing"],
        ),
        with(
            "template folder without templates",
            "templateDir: ./empty".into(),
            2,
            &["no .hbs or .yaml files"],
        )
        .file("empty/README", "x"),
        with(
            "URL the mirror does not hold",
            "url: https://bad.example/missing.yaml".into(),
            5,
            &["https://bad.example/missing.yaml"],
        ),
        with(
            "URL whose content changed",
            format!(
                "{{url: https://bad.example/cm.yaml, sha256: {}}}",
                "0".repeat(64)
            ),
            5,
            &["sha256 mismatch"],
        ),
        with(
            "download that is an HTML page",
            "url: https://bad.example/page.html".into(),
            5,
            &["got an HTML page"],
        ),
        with(
            "download that is not YAML",
            "url: https://bad.example/broken.yaml".into(),
            5,
            &["invalid YAML"],
        ),
        with(
            "download that is a device in the mirror",
            "url: https://bad.example/zero".into(),
            5,
            &["https://bad.example/zero"],
        ),
        with(
            "URL escaping the mirror",
            "url: https://bad.example/../../etc/passwd".into(),
            5,
            &["only http(s) URLs without `..`"],
        ),
    ]
}

fn charts(mirror: &Path) -> Vec<Case> {
    let with = |what: &'static str, chart: &str, version: &str, code: i32, says: &[&str]| {
        let name = unique("bad");
        case("charts", what, code)
            .file(
                "landscape.yaml",
                stack(&name, "").replace(
                    "      - templateDir: ./app\n",
                    &format!("      - chart: {{repository: https://charts.bad.example, name: {chart}, version: {version}}}\n"),
                ),
            )
            .arg("--mirror")
            .arg(mirror.display().to_string())
            .says(says)
    };
    vec![
        with(
            "chart not in the repository",
            "nothing",
            "1.0.0",
            5,
            &["no chart named `nothing`"],
        ),
        with(
            "version not in the repository",
            "good",
            "9.9.9",
            5,
            &["has no version 9.9.9"],
        ),
        with(
            "truncated archive",
            "truncated",
            "1.0.0",
            5,
            &["damaged or truncated"],
        ),
        with(
            "decompression bomb",
            "bomb",
            "1.0.0",
            5,
            &["decompression bomb"],
        ),
        with(
            "archive escaping its folder",
            "escape",
            "1.0.0",
            5,
            &["outside the chart's folder"],
        ),
        with(
            "archive with a symbolic link",
            "link",
            "1.0.0",
            5,
            &["not a plain file or folder"],
        ),
        with(
            "archive without Chart.yaml",
            "nochart",
            "1.0.0",
            5,
            &["no nochart/Chart.yaml"],
        ),
        with(
            "archive that is not gzip",
            "html",
            "1.0.0",
            5,
            &["not a chart archive"],
        ),
        with(
            "archive whose digest differs from the index",
            "tampered",
            "1.0.0",
            5,
            &["sha256 mismatch"],
        ),
        with(
            "helm missing",
            "good",
            "1.0.0",
            2,
            &["helm is needed to render the charts of `app`"],
        )
        .env("LANDSCAPE_HELM", "/no/such/helm"),
        with(
            "helm that hangs",
            "good",
            "1.0.0",
            2,
            &["did not finish within 2s"],
        )
        .env("LANDSCAPE_HELM_TIMEOUT", "2s")
        .env("LANDSCAPE_HELM", "./fake-helm")
        .executable(
            "fake-helm",
            "#!/bin/sh\nif [ \"$1\" = version ]; then echo v3.22.0; exit 0; fi\nexec sleep 600\n",
        ),
        with(
            "chart whose template fails",
            "good",
            "1.0.0",
            2,
            &["helm template failed", "set me"],
        ),
    ]
}

fn lock(mirror: &Path) -> Vec<Case> {
    let with = |what: &'static str, lock: Option<&str>, code: i32, says: &[&str]| {
        let name = unique("bad");
        let mut c = case("lock", what, code)
            .file(
                "landscape.yaml",
                stack(&name, "").replace(
                    "      - templateDir: ./app\n",
                    "      - url: https://bad.example/cm.yaml\n",
                ),
            )
            .args(&["--locked", "--mirror"])
            .arg(mirror.display().to_string())
            .says(says);
        if let Some(l) = lock {
            c = c.file("landscape.lock", l);
        }
        c
    };
    let digest = support_sha256(CM.as_bytes());
    vec![
        with("no lock", None, 5, &["landscape.lock", "not found"]),
        with("malformed lock", Some("version: [1\n"), 5, &["landscape.lock:"]),
        with("lock with an unknown field", Some("version: 1\nstack: x\nextra: 1\n"), 5, &["landscape.lock:", "unknown field `extra`"]),
        with("lock of another version", Some("version: 9\nstack: x\n"), 5, &["lock version 9 is not supported"]),
        with("artifact not in the lock", Some("version: 1\nstack: x\n"), 5, &["https://bad.example/cm.yaml is not in the lock"]),
        with("digest differs from the lock", Some(&format!("version: 1\nstack: x\nartifacts:\n- {{url: https://bad.example/cm.yaml, components: [app], sha256: {}}}\n", "1".repeat(64))), 5, &["sha256 mismatch"]),
        with("image not in the lock", Some(&format!("version: 1\nstack: x\nartifacts:\n- {{url: https://bad.example/cm.yaml, components: [app], sha256: {digest}}}\nimages: []\n")), 5, &["image registry.bad.example/app:1 is not in the lock"]).file("landscape.yaml", format!("name: {}\ncomponents:\n  app:\n    category: delivery\n    sources:\n      - url: https://bad.example/cm.yaml\n      - templateDir: ./app\n", unique("bad"))).file("app/pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: registry.bad.example/app:1}]}\n"),
        with("lock that is a directory", None, 5, &["landscape.lock", "not a regular file"]).file("landscape.lock/x", ""),
    ]
}

fn kubeconfigs(tb: &Testbed) -> Vec<Case> {
    let server = std::fs::read_to_string(&tb.kubeconfig).unwrap();
    let with = |what: &'static str,
                kubeconfig: Option<String>,
                extra: &[&str],
                code: i32,
                says: &[&str]| {
        let name = unique("bad");
        let mut c = case("kubeconfig", what, code)
            .file("landscape.yaml", stack(&name, ""))
            .file("app/cm.yaml", CM)
            .args(extra)
            .says(says);
        if let Some(k) = kubeconfig {
            c = c
                .file("kubeconfig", k)
                .args(&["--kubeconfig", "kubeconfig"]);
        }
        c
    };
    let hang = "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: sleep, args: [\"600\"], interactiveMode: Never}}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"
        .to_string();
    let failing = hang.replace(
        "command: sleep, args: [\"600\"]",
        "command: \"false\", args: []",
    );
    vec![
        with(
            "kubeconfig that does not exist",
            None,
            &["--kubeconfig", "nope"],
            4,
            &["cannot load the kubeconfig nope"],
        ),
        with(
            "malformed kubeconfig",
            Some("clusters: [\n".into()),
            &[],
            4,
            &["cannot load the kubeconfig kubeconfig"],
        ),
        with(
            "unknown context",
            Some(server.clone()),
            &["--context", "nope"],
            4,
            &["cannot load the kubeconfig", "nope"],
        ),
        with(
            "server nothing listens on",
            Some(server.replace(&server_url(&server), "https://127.0.0.1:1")),
            &[],
            4,
            &["cannot reach the cluster"],
        ),
        with(
            "exec plugin that hangs",
            Some(hang),
            &["--timeout", "3s"],
            4,
            &["did not finish within 3s"],
        ),
        with(
            "exec plugin that fails",
            Some(failing),
            &["--timeout", "20s"],
            4,
            &["kubeconfig"],
        ),
    ]
}

fn server_url(kubeconfig: &str) -> String {
    kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap()
        .to_string()
}

fn flags() -> Vec<Case> {
    let with = |what: &'static str, args: &[&str], code: i32, says: &[&str]| {
        case("flags", what, code)
            .file("landscape.yaml", stack(&unique("bad"), ""))
            .file("app/cm.yaml", CM)
            .args(args)
            .says(says)
    };
    vec![
        with(
            "unknown flag",
            &["--frobnicate"],
            2,
            &["unexpected argument '--frobnicate'"],
        ),
        with(
            "timeout that is not a duration",
            &["--timeout", "soon"],
            2,
            &["'--timeout <DURATION>'", "`soon` is not a duration"],
        ),
        with(
            "timeout of many years",
            &["--timeout", "100000h"],
            2,
            &["longer than a year"],
        ),
        with(
            "timeout that overflows",
            &["--timeout", "307445734561825861m"],
            2,
            &["longer than a year"],
        ),
        with(
            "unknown output format",
            &["-o", "xml"],
            2,
            &["invalid value 'xml'"],
        ),
        with(
            "prune that is not a boolean",
            &["--prune=maybe"],
            2,
            &["invalid value 'maybe'"],
        ),
        with(
            "--delete-custom-resources without --delete-crds",
            &["--delete-custom-resources"],
            2,
            &["--delete-crds"],
        ),
        with(
            "wait-for-lock that is not a duration",
            &["--wait-for-lock", "a while"],
            2,
            &["`a while` is not a duration"],
        ),
        with(
            "unknown profile",
            &["--profile", "huge", "--stack", "landscape.yaml"],
            2,
            &[],
        ),
        with(
            "a stack file that does not exist",
            &["--stack", "nope.yaml"],
            2,
            &["cannot read nope.yaml"],
        ),
    ]
}

fn no_stack() -> Vec<Case> {
    vec![
        case("flags", "no stack given", 2).says(&["no stack given"]),
        case("flags", "LANDSCAPE_PROFILE beside a landscape.yaml", 2)
            .file("landscape.yaml", stack(&unique("bad"), ""))
            .file("app/cm.yaml", CM)
            .env("LANDSCAPE_PROFILE", "small")
            .says(&[
                "LANDSCAPE_PROFILE=small is set and",
                "landscape.yaml is in the working directory",
            ]),
        case("flags", "unknown --profile", 2)
            .args(&["--profile", "huge"])
            .says(&["--profile: unknown profile `huge`"]),
    ]
}

fn support_sha256(data: &[u8]) -> String {
    landscape::source::sha256_hex(data)
}

/// A directory mirror holding the artifacts the source, chart and lock cases fetch.
fn bad_mirror() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let put = |path: &str, data: &[u8]| {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    };
    put("bad.example/cm.yaml", CM.as_bytes());
    put(
        "bad.example/page.html",
        b"<!DOCTYPE html><html>login</html>",
    );
    put("bad.example/broken.yaml", b"a: [1\n");
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("bad.example/zero")).unwrap();
    let chart = |name: &str, entries: &[(&str, u8, Vec<u8>)]| gzip(&tar(name, entries));
    let good_files = |name: &str| {
        vec![
            (format!("{name}/Chart.yaml"), b'0', format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\n").into_bytes()),
            (format!("{name}/templates/cm.yaml"), b'0', b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {v: {{ required \"set me\" .Values.missing }}}\n".to_vec()),
        ]
    };
    let mut archives: Vec<(&str, Vec<u8>)> = Vec::new();
    archives.push(("good", chart("good", &refs(&good_files("good")))));
    let full = chart("truncated", &refs(&good_files("truncated")));
    archives.push(("truncated", full[..full.len() / 2].to_vec()));
    let mut bomb = good_files("bomb");
    bomb.push(("bomb/big".into(), b'0', vec![0u8; 200 * 1024 * 1024]));
    archives.push(("bomb", chart("bomb", &refs(&bomb))));
    let mut escape = good_files("escape");
    escape.push(("escape/../../etc/cron".into(), b'0', b"x".to_vec()));
    archives.push(("escape", chart("escape", &refs(&escape))));
    let mut link = good_files("link");
    link.push(("link/l".into(), b'2', vec![]));
    archives.push(("link", chart("link", &refs(&link))));
    archives.push((
        "nochart",
        chart(
            "nochart",
            &[("nochart/values.yaml", b'0', b"a: 1\n".to_vec())],
        ),
    ));
    archives.push(("html", b"<html>not found</html>".to_vec()));
    archives.push((
        "tampered",
        chart("tampered", &refs(&good_files("tampered"))),
    ));
    let mut entries = String::from("apiVersion: v1\nentries:\n");
    for (name, data) in &archives {
        let file = format!("{name}-1.0.0.tgz");
        put(&format!("charts.bad.example/{file}"), data);
        let digest = if *name == "tampered" {
            "1".repeat(64)
        } else {
            support_sha256(data)
        };
        entries.push_str(&format!(
            "  {name}:\n  - {{name: {name}, version: 1.0.0, urls: [{file}], digest: {digest}}}\n"
        ));
    }
    put("charts.bad.example/index.yaml", entries.as_bytes());
    dir
}

fn refs(v: &[(String, u8, Vec<u8>)]) -> Vec<(&str, u8, Vec<u8>)> {
    v.iter()
        .map(|(a, b, c)| (a.as_str(), *b, c.clone()))
        .collect()
}

fn tar(_name: &str, entries: &[(&str, u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (path, kind, data) in entries {
        let mut h = vec![0u8; 512];
        h[..path.len()].copy_from_slice(path.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        h[156] = *kind;
        h[257..262].copy_from_slice(b"ustar");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend(h);
        out.extend(data);
        out.extend(vec![0u8; data.len().div_ceil(512) * 512 - data.len()]);
    }
    out.extend(vec![0u8; 1024]);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn bad_input_is_refused_with_its_code_one_line_and_nothing_written() {
    let tb = support::testbed_with(&["--audit"]);
    let audit = support::audit::log(tb);
    let mirror = bad_mirror();
    let mut cases = Vec::new();
    cases.extend(stack_files());
    cases.extend(values_and_set());
    cases.extend(templates());
    cases.extend(patches_and_objects());
    cases.extend(sources(mirror.path()));
    cases.extend(charts(mirror.path()));
    cases.extend(lock(mirror.path()));
    cases.extend(kubeconfigs(tb));
    cases.extend(flags());
    cases.extend(no_stack());
    assert!(cases.len() >= 100, "{} cases", cases.len());

    let mut failures = Vec::new();
    let mut tally: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for c in &cases {
        let work = tempfile::tempdir().unwrap();
        for (name, data) in &c.files {
            let (name, exec) = match name.strip_prefix("+x ") {
                Some(n) => (n, true),
                None => (name.as_str(), false),
            };
            let path = work.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, data).unwrap();
            if exec {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        let before = support::audit::lines(&audit);
        let mut cmd = tb.landscape();
        cmd.current_dir(work.path())
            .env_remove("LANDSCAPE_MIRROR")
            .arg("up")
            .args(&c.args);
        for (k, v) in &c.env {
            cmd.env(k, v);
        }
        let out: Run = run(cmd);
        let writes = support::audit::writes_since(&audit, before);
        let err_lines: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        let mut problems = Vec::new();
        if out.code != c.code {
            problems.push(format!("exit {} (expected {})", out.code, c.code));
        }
        if out.stderr.contains("panicked") || out.code == 101 {
            problems.push("panicked".into());
        }
        if err_lines.len() != 1 || !err_lines[0].starts_with("error: ") {
            problems.push(format!("not one error line: {err_lines:?}"));
        }
        for part in &c.message {
            if !out.stderr.contains(part.as_str()) {
                problems.push(format!("error does not say {part:?}"));
            }
        }
        if out.stderr.contains("s3cr3t-value") {
            problems.push("echoed a value".into());
        }
        if !writes.is_empty() {
            problems.push(format!("wrote to the cluster: {writes:?}"));
        }
        let entry = tally.entry(c.category).or_default();
        entry.0 += 1;
        if problems.is_empty() {
            entry.1 += 1;
        } else {
            failures.push(format!(
                "[{}] {}: {} — stderr: {}",
                c.category,
                c.what,
                problems.join("; "),
                out.stderr.trim()
            ));
        }
    }
    let total: usize = tally.values().map(|t| t.0).sum();
    let passed: usize = tally.values().map(|t| t.1).sum();
    let mut summary = String::from("| category | cases | passed |\n|---|---|---|\n");
    for (cat, (n, ok)) in &tally {
        summary.push_str(&format!("| {cat} | {n} | {ok} |\n"));
    }
    summary.push_str(&format!("| **all** | **{total}** | **{passed}** |\n"));
    let _ = std::fs::write(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bad-input-summary.md"),
        &summary,
    );
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}\n\n{summary}",
        failures.len(),
        failures.join("\n")
    );
}
