//! Comparing what `diff` predicts with what `up` then does, on a one-component stack whose
//! files a test writes: the shared part of the tests that check `diff` tells the truth.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Run, Testbed, run, testbed, unique};

/// `(kind, namespace-or-empty, name)`.
pub type Key = (String, String, String);

pub fn key_of(object: &Value) -> Key {
    (
        object["kind"].as_str().unwrap_or_default().to_string(),
        object["namespace"].as_str().unwrap_or_default().to_string(),
        object["name"].as_str().unwrap_or_default().to_string(),
    )
}

/// A stack whose component `app` renders the files of `app/`, in namespace `ns`.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub stack: String,
    pub ns: String,
}

impl Project {
    pub fn new(prefix: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let stack = unique(prefix);
        std::fs::create_dir_all(dir.path().join("app")).unwrap();
        std::fs::write(
            dir.path().join("landscape.yaml"),
            format!(
                "name: {stack}\ncomponents:\n  app:\n    category: delivery\n    namespace: {stack}\n    sources:\n      - templateDir: ./app\n    timeout: 2m\n"
            ),
        )
        .unwrap();
        let ns = stack.clone();
        Project { dir, stack, ns }
    }

    /// Replaces the component's files.
    pub fn render(&self, files: &[(&str, String)]) {
        let app = self.dir.path().join("app");
        for f in std::fs::read_dir(&app).unwrap() {
            std::fs::remove_file(f.unwrap().path()).unwrap();
        }
        for (name, text) in files {
            std::fs::write(app.join(name), text).unwrap();
        }
    }

    pub async fn landscape(&self, args: &[&str]) -> Run {
        let mut cmd = testbed().landscape();
        cmd.current_dir(self.dir.path()).args(args);
        tokio::task::spawn_blocking(move || run(cmd)).await.unwrap()
    }
}

/// What `diff -o json` predicts for each object it names (unchanged ones are not named).
pub fn predicted(diff: &Run) -> BTreeMap<Key, String> {
    let d: Value = serde_json::from_str(&diff.stdout).unwrap_or_else(|e| panic!("{e}: {diff:?}"));
    d["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["changes"].as_array().unwrap().iter())
        .map(|ch| {
            (
                key_of(&ch["object"]),
                ch["action"].as_str().unwrap().to_string(),
            )
        })
        .filter(|(_, action)| action != "unchanged")
        .collect()
}

/// What `up -o json` reports having done to each object, in `diff`'s words.
pub fn done(up: &Run) -> BTreeMap<Key, String> {
    let mut out = BTreeMap::new();
    for e in up.events() {
        match e["event"].as_str().unwrap() {
            "objects_applied" => {
                for ch in e["changes"].as_array().into_iter().flatten() {
                    let action = match ch["action"].as_str().unwrap() {
                        "created" => "create",
                        "configured" => "update",
                        "adopted" => "adopt",
                        "replaced" => "replace",
                        // A namespace of someone else's, used as it is: not a change.
                        "used" => continue,
                        other => panic!("unknown action {other}"),
                    };
                    out.insert(key_of(&ch["object"]), action.to_string());
                }
            }
            "pruned" => {
                for (field, action) in [
                    ("objects", "delete"),
                    ("retained", "keep"),
                    ("released", "release"),
                    ("replaced", "keep"),
                ] {
                    for o in e[field].as_array().into_iter().flatten() {
                        out.insert(key_of(o), action.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Runs `diff` then `up` with the same flags and checks that `up` did what `diff` said.
pub async fn diff_then_up(p: &Project, flags: &[&str], diff_code: i32) -> BTreeMap<Key, String> {
    let mut args = vec!["diff", "-o", "json"];
    args.extend(flags);
    let diff = p.landscape(&args).await;
    assert_eq!(diff.code, diff_code, "{diff:?}");
    let prediction = predicted(&diff);
    let mut args = vec!["up", "-o", "json"];
    args.extend(flags);
    let up = p.landscape(&args).await;
    assert_eq!(up.code, 0, "{up:?}");
    assert_eq!(
        done(&up),
        prediction,
        "diff predicted {diff:?}\nup did {up:?}"
    );
    prediction
}

pub fn kubectl_apply(tb: &Testbed, yaml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("o.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = tb.kubectl(&["apply", "-f", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn k(kind: &str, ns: &str, name: &str) -> Key {
    (kind.to_string(), ns.to_string(), name.to_string())
}
