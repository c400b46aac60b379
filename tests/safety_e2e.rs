//! Safety: nothing users keep is lost, two stacks never clobber each other, the inventory
//! holds whatever the values, secret values appear nowhere — not even where a template
//! puts them into a ConfigMap — and images can be locked to digests.

mod support;

use std::path::Path;

use serde_json::Value;

use support::{Run, Testbed, run, testbed, unique};

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

async fn landscape(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = testbed().landscape();
    cmd.current_dir(dir).args(args);
    tokio::task::spawn_blocking(move || run(cmd)).await.unwrap()
}

fn kubectl_json(tb: &Testbed, args: &[&str]) -> Value {
    let out = tb.kubectl(args);
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A stack `name` whose component `app` renders `app/`, with extra component fields.
fn stack(dir: &Path, name: &str, extra: &str) {
    write(
        dir,
        "landscape.yaml",
        &format!(
            "name: {name}\ncomponents:\n  app:\n    category: delivery\n    namespace: {name}\n    sources: [{{templateDir: ./app}}]\n    timeout: 2m\n{extra}"
        ),
    );
}

const STATEFULSET: &str = r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: logs
spec:
  replicas: 2
  serviceName: logs
  selector: {matchLabels: {app: logs}}
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete, whenScaled: Retain}
  template:
    metadata: {labels: {app: logs}}
    spec:
      containers: [{name: c, image: registry.example/logs:1}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 1Gi}}
"#;

#[tokio::test]
async fn down_keeps_the_claims_of_a_statefulset_whose_policy_deletes_them() {
    let tb = testbed();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("claims");
    stack(dir.path(), &name, "");
    write(dir.path(), "app/sts.yaml", STATEFULSET);
    let up = landscape(dir.path(), &["up"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let claims = || -> Vec<String> {
        let out = tb.kubectl(&[
            "get",
            "pvc",
            "-n",
            &name,
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ]);
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(claims(), ["data-logs-0", "data-logs-1"]);

    let down = landscape(dir.path(), &["down", "--yes"]).await;
    assert_eq!(down.code, 0, "{down:?}");
    // The StatefulSet is gone; its claims, and the namespace holding them, are not.
    assert!(
        !tb.kubectl(&["get", "statefulset", "logs", "-n", &name])
            .status
            .success()
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(claims(), ["data-logs-0", "data-logs-1"], "kept means kept");
    for claim in claims() {
        let c = kubectl_json(tb, &["get", "pvc", &claim, "-n", &name, "-o", "json"]);
        assert!(
            c["metadata"].get("deletionTimestamp").is_none(),
            "{claim} is not being deleted"
        );
    }
    let ns = kubectl_json(tb, &["get", "namespace", &name, "-o", "json"]);
    assert!(
        ns["metadata"].get("deletionTimestamp").is_none(),
        "the namespace is kept"
    );
    assert!(down.stdout.contains("kept"), "{down:?}");

    // Asked to, down deletes them.
    let again = landscape(dir.path(), &["down", "--yes", "--delete-volumes"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    let gone = support::eventually(
        std::time::Duration::from_secs(60),
        "the claims to go",
        || async { claims().is_empty().then_some(()) },
    );
    gone.await;
}

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: notes.safety.landscape.test\nspec:\n  group: safety.landscape.test\n  scope: Namespaced\n  names: {kind: Note, plural: notes, singular: note, listKind: NoteList}\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n";

#[tokio::test]
async fn down_refuses_to_delete_crds_still_holding_others_custom_resources() {
    let tb = testbed();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("crds");
    stack(dir.path(), &name, "");
    write(dir.path(), "app/crd.yaml", CRD);
    write(
        dir.path(),
        "app/note.yaml",
        "apiVersion: safety.landscape.test/v1\nkind: Note\nmetadata: {name: ours}\n",
    );
    assert_eq!(landscape(dir.path(), &["up"]).await.code, 0);
    let theirs = dir.path().join("theirs.yaml");
    let note = "apiVersion: safety.landscape.test/v1\nkind: Note\nmetadata: {name: theirs, namespace: default}\n";
    std::fs::write(&theirs, note).unwrap();
    assert!(
        tb.kubectl(&["apply", "-f", theirs.to_str().unwrap()])
            .status
            .success()
    );

    let refused = landscape(dir.path(), &["down", "--yes", "--delete-crds"]).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("notes.safety.landscape.test (1 custom resources)")
            && refused.stderr.contains("--delete-custom-resources"),
        "{refused:?}"
    );
    assert!(
        tb.kubectl(&["get", "note", "ours", "-n", &name])
            .status
            .success(),
        "refused before anything was deleted"
    );

    let done = landscape(
        dir.path(),
        &[
            "down",
            "--yes",
            "--delete-crds",
            "--delete-custom-resources",
        ],
    )
    .await;
    assert_eq!(done.code, 0, "{done:?}");
    assert!(
        !tb.kubectl(&["get", "crd", "notes.safety.landscape.test"])
            .status
            .success()
            || kubectl_json(
                tb,
                &["get", "crd", "notes.safety.landscape.test", "-o", "json"]
            )["metadata"]
                .get("deletionTimestamp")
                .is_some()
    );
}

#[tokio::test]
async fn two_stacks_under_one_name_do_not_clobber_each_other() {
    let tb = testbed();
    let shared = unique("shared");
    // Two stack files that declare no name of their own, in two folders, both called
    // `<shared>.yaml`: both stacks default to the same name.
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for (dir, cm) in [(&a, "from-a"), (&b, "from-b")] {
        write(
            dir.path(),
            &format!("{shared}.yaml"),
            &format!(
                "components:\n  app:\n    category: delivery\n    namespace: {shared}-{cm}\n    sources: [{{templateDir: ./app}}]\n"
            ),
        );
        write(
            dir.path(),
            "app/cm.yaml",
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {cm}}}\n"),
        );
    }
    let file = format!("{shared}.yaml");
    assert_eq!(landscape(a.path(), &["up", "--stack", &file]).await.code, 0);
    let other = landscape(b.path(), &["up", "--stack", &file]).await;
    assert_eq!(other.code, 4, "{other:?}");
    assert!(
        other.stderr.contains(&format!("stack `{shared}`"))
            && other.stderr.contains(&a.path().display().to_string())
            && other.stderr.contains(&b.path().display().to_string())
            && other.stderr.contains("--take-over-stack"),
        "names both origins: {other:?}"
    );
    assert!(
        tb.kubectl(&[
            "get",
            "configmap",
            "from-a",
            "-n",
            &format!("{shared}-from-a")
        ])
        .status
        .success(),
        "the first stack's objects are untouched"
    );
    let taken = landscape(b.path(), &["up", "--stack", &file, "--take-over-stack"]).await;
    assert_eq!(taken.code, 0, "{taken:?}");
    let inv = tb.inventory(&shared).await.unwrap();
    assert!(
        matches!(&inv.identity.origin, landscape::inventory::Origin::File { path, .. } if path.starts_with(&b.path().display().to_string())),
        "{:?}",
        inv.identity
    );
}

#[tokio::test]
async fn large_values_split_the_inventory_and_replay_still_works() {
    let tb = testbed();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("big");
    stack(dir.path(), &name, "    values: {blob: \"\"}\n");
    write(
        dir.path(),
        "app/cm.yaml.hbs",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: small}\ndata: {size: big}\n",
    );
    // 3 MiB that do not compress: far more than one Secret holds.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let blob: String = (0..3 * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (b'a' + (state % 26) as u8) as char
        })
        .collect();
    write(
        dir.path(),
        "values.yaml",
        &format!("app:\n  blob: {blob}\n"),
    );
    let up = landscape(dir.path(), &["up", "-f", "values.yaml"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let parts = tb.kubectl(&[
        "get",
        "secret",
        "-n",
        "kube-system",
        "-l",
        &format!("landscape.dev/inventory-part={name}"),
        "-o",
        "name",
    ]);
    assert!(
        String::from_utf8_lossy(&parts.stdout).lines().count() >= 2,
        "split into parts (the first chunk stays in the parent): {parts:?}"
    );
    let inv = tb
        .inventory(&name)
        .await
        .expect("the split inventory reads back");
    assert_eq!(
        inv.inputs.values_files[0].text.len(),
        blob.len() + "app:\n  blob: \n".len()
    );
    // diff with no flags replays it from the cluster, from another directory.
    let elsewhere = tempfile::tempdir().unwrap();
    let diff = landscape(elsewhere.path(), &["diff", "--installed", &name]).await;
    assert_eq!(diff.code, 0, "{diff:?}");
    // A second up without the big file records a small payload: the old parts go.
    let again = landscape(dir.path(), &["up", "--set", "app.blob=short"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    let parts = tb.kubectl(&[
        "get",
        "secret",
        "-n",
        "kube-system",
        "-l",
        &format!("landscape.dev/inventory-part={name}"),
        "-o",
        "name",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&parts.stdout).lines().count(),
        0,
        "no stale parts"
    );
}

#[tokio::test]
async fn secret_values_appear_nowhere_and_are_not_recorded() {
    let tb = testbed();
    let dir = tempfile::tempdir().unwrap();
    let name = unique("creds");
    // The token is a secret value the template puts into a ConfigMap, inside a JSON string.
    stack(
        dir.path(),
        &name,
        "    values: {token: \"\", pin: \"\"}\n    required:\n      - {path: token, description: an API token, secret: true}\n    secrets: [pin]\n",
    );
    write(
        dir.path(),
        "app/cm.yaml.hbs",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: client}\ndata:\n  config.json: '{\"auth\": \"Bearer {{values.token}}\"}'\n  pin: \"{{values.pin}}\"\n",
    );
    let token = "tok-5f1e9c2a7b";
    let pin = "q7z";
    let set = [
        "--set".to_string(),
        format!("app.token={token}"),
        "--set".to_string(),
        format!("app.pin={pin}"),
    ];
    let set: Vec<&str> = set.iter().map(String::as_str).collect();
    let mut outputs = Vec::new();
    for args in [
        vec!["render"],
        vec!["render", "-o", "json"],
        vec!["up", "-o", "json"],
        vec!["diff"],
        vec!["diff", "-o", "json"],
        vec!["status", "-o", "json"],
    ] {
        let mut all = args.clone();
        if args[0] != "status" {
            all.extend(&set);
        }
        let out = landscape(dir.path(), &all).await;
        assert!(out.code == 0 || out.code == 1, "{all:?}: {out:?}");
        outputs.push((all.join(" "), out));
    }
    // The cluster has the value; nothing printed it.
    let cm = kubectl_json(
        tb,
        &["get", "configmap", "client", "-n", &name, "-o", "json"],
    );
    assert!(cm["data"]["config.json"].as_str().unwrap().contains(token));
    for (what, out) in &outputs {
        assert!(
            !out.all().contains(token),
            "{what} printed the token: {out:?}"
        );
        assert!(
            !out.all().contains(&format!("pin: {pin}")),
            "{what} printed the short pin: {out:?}"
        );
        assert!(
            !out.all().contains(&format!("\"pin\":\"{pin}\"")),
            "{what} printed the short pin: {out:?}"
        );
    }
    // The inventory records that they were given, not what they are.
    let inv = tb.inventory(&name).await.unwrap();
    let recorded = serde_json::to_string(&inv.inputs).unwrap();
    assert!(
        !recorded.contains(token) && !recorded.contains(pin),
        "{recorded}"
    );
    assert_eq!(inv.inputs.secrets_given, ["app.token", "app.pin"]);
    // A replay needs them again, and says which.
    let elsewhere = tempfile::tempdir().unwrap();
    let replay = landscape(elsewhere.path(), &["diff", "--installed", &name]).await;
    assert_eq!(replay.code, 2, "{replay:?}");
    assert!(
        replay
            .stderr
            .contains("secret values were given to the last run but are not recorded: app.token"),
        "{replay:?}"
    );
    let given = landscape(
        elsewhere.path(),
        &[
            "diff",
            "--installed",
            &name,
            "--set",
            &format!("app.token={token}"),
            "--set",
            &format!("app.pin={pin}"),
        ],
    )
    .await;
    assert_eq!(given.code, 0, "{given:?}");
    // The render cache holds no secret either.
    let cache = support::cache_dir();
    for entry in walk(&cache) {
        let data = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&data).contains(token),
            "{} holds the token",
            entry.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn credentials_in_a_mirror_url_are_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    stack(dir.path(), &unique("mirror"), "");
    std::fs::write(
        dir.path().join("landscape.yaml"),
        std::fs::read_to_string(dir.path().join("landscape.yaml"))
            .unwrap()
            .replace("templateDir: ./app", "url: https://example.com/x.yaml"),
    )
    .unwrap();
    let mut cmd = testbed().landscape();
    cmd.current_dir(dir.path()).args([
        "render",
        "--mirror",
        "http://mirror-user:s3cr3t-mirror-token@127.0.0.1:1/",
    ]);
    let out = run(cmd);
    assert_eq!(out.code, 5, "{out:?}");
    assert!(
        !out.all().contains("s3cr3t-mirror-token") && !out.all().contains("mirror-user"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("http://127.0.0.1:1/example.com/x.yaml"),
        "{out:?}"
    );
}

#[test]
fn images_lock_to_the_digest_their_registry_gives() {
    // A registry on loopback that answers one manifest HEAD with a digest.
    let digest = format!("sha256:{}", "ab".repeat(32));
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let answer = digest.clone();
    std::thread::spawn(move || {
        for stream in server.incoming().flatten().take(4) {
            use std::io::{BufRead, BufReader, Write};
            let mut reader = BufReader::new(&stream);
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            let ok = request.starts_with("HEAD /v2/team/app/manifests/1.0 ");
            let mut s = &stream;
            let _ = if ok {
                write!(
                    s,
                    "HTTP/1.1 200 OK\r\nDocker-Content-Digest: {answer}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            } else {
                write!(
                    s,
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            };
        }
    });
    let dir = tempfile::tempdir().unwrap();
    stack(dir.path(), &unique("images"), "");
    let image = format!("127.0.0.1:{port}/team/app:1.0");
    write(
        dir.path(),
        "app/pod.yaml",
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {{containers: [{{name: c, image: \"{image}\"}}]}}\n"
        ),
    );
    let mut lock = testbed().landscape();
    lock.current_dir(dir.path())
        .args(["lock", "--resolve-images"]);
    let out = run(lock);
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(dir.path().join("landscape.lock")).unwrap();
    assert!(text.contains(&format!("{image}@{digest}")), "{text}");
    // Locked, the render runs exactly that digest.
    let mut render = testbed().landscape();
    render.current_dir(dir.path()).args(["render", "--locked"]);
    let out = run(render);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(&format!("{image}@{digest}")),
        "{}",
        out.stdout
    );
}
