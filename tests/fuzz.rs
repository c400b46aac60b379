//! Random input never makes landscape panic: durations, `--set` arguments, stack files and
//! values files, generated at random and by mutating the real profiles. Every case either
//! parses or fails with an error — and the test names the input if it panics.
//!
//! Deterministic (a fixed seed, a small PRNG), so a failure is reproducible; no cluster.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use landscape::stack::{Input, StackRequest};

/// xorshift64*: enough randomness for inputs, the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A string of `len` characters drawn from `alphabet`.
    fn string(&mut self, alphabet: &[&str], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}

fn no_panic(what: &str, input: &str, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        panic!("{what} panicked on input {input:?}");
    }
}

#[test]
fn durations_never_panic() {
    let mut rng = Rng(0x5eed_d0a7);
    let alphabet = [
        "0",
        "1",
        "9",
        "18446744073709551615",
        "307445734561825861",
        "s",
        "m",
        "h",
        "ms",
        "x",
        " ",
        "-",
        ".",
        "µ",
    ];
    for _ in 0..20_000 {
        let len = rng.below(8);
        let text = rng.string(&alphabet, len);
        no_panic("duration::parse", &text, || {
            if let Ok(d) = landscape::duration::parse(&text) {
                assert!(d <= landscape::duration::MAX, "{text}: {d:?}");
                let _ = landscape::duration::format(d);
            }
        });
    }
}

#[test]
fn set_arguments_never_panic() {
    let mut rng = Rng(0x5e7_a55);
    let alphabet = [
        "a",
        "b",
        ".",
        "=",
        ",",
        "\\",
        "[",
        "]",
        "0",
        "100000000000",
        "65537",
        "-1",
        "true",
        "null",
        "1.5",
        " ",
        "é",
        "\u{0}",
    ];
    for _ in 0..20_000 {
        let len = rng.below(12);
        let text = rng.string(&alphabet, len);
        no_panic("parse_set", &text, || {
            if let Ok(assignments) = landscape::stack::values::parse_set(&text) {
                for a in assignments {
                    let mut values = serde_json::json!({});
                    landscape::stack::values::assign(&mut values, &a.path[1..], a.value.clone());
                    let _ = a.to_tree();
                }
            }
            let _ = landscape::stack::values::keys_of(&text);
        });
        no_panic("load with --set", &text, || {
            let _ = landscape::stack::load(&StackRequest {
                set: vec![text.clone()],
                ..StackRequest::profile("small")
            });
        });
    }
}

fn recorded(label: &str, text: &str) -> Input {
    Input::Recorded {
        label: label.into(),
        path: PathBuf::from(format!("/fuzz/{label}")),
        text: text.into(),
    }
}

/// The real profiles, mutated: bytes flipped, lines dropped or repeated, text cut short.
fn mutations(rng: &mut Rng, text: &str, rounds: usize) -> Vec<String> {
    let pieces = [
        ":", "-", " ", "\n", "{", "}", "[", "]", "\"", "'", "&a", "*a", "!!binary", "~", "0644",
        "\t", "#", "? ", "---", "|", ">",
    ];
    (0..rounds)
        .map(|_| {
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            for _ in 0..1 + rng.below(4) {
                if lines.is_empty() {
                    break;
                }
                let i = rng.below(lines.len());
                match rng.below(4) {
                    0 => {
                        lines.remove(i);
                    }
                    1 => {
                        let line = lines[i].clone();
                        lines.insert(i, line);
                    }
                    2 => {
                        let at = rng.below(lines[i].len() + 1);
                        let at = (0..=at)
                            .rev()
                            .find(|a| lines[i].is_char_boundary(*a))
                            .unwrap_or(0);
                        lines[i].insert_str(at, pieces[rng.below(pieces.len())]);
                    }
                    _ => lines.truncate(i),
                }
            }
            lines.join("\n")
        })
        .collect()
}

#[test]
fn stack_files_never_panic() {
    let mut rng = Rng(0x57ac_f11e);
    let base = "name: fuzz\nextends: small\ndisable: [loki]\ncomponents:\n  web:\n    category: delivery\n    namespace: web\n    needs: [argocd]\n    sources:\n      - templateDir: ./web\n      - url: https://example.com/x.yaml\n        sha256: 0000000000000000000000000000000000000000000000000000000000000000\n      - chart: {repository: https://charts.example.com, name: web, version: 1.0.0, release: web}\n    values: {replicas: 2, list: [a, b]}\n    timeout: 5m\n    patches:\n      - target: {kind: Deployment, name: web}\n        patch: |\n          spec: {replicas: 3}\n    readiness:\n      - {kind: Widget, field: status.phase, equals: Ready, failed: [Broken]}\n  velero:\n    values:\n      backup: {provider: aws, bucket: b, region: r}\n";
    for text in mutations(&mut rng, base, 3_000) {
        no_panic("stack::load", &text, || {
            let _ = landscape::stack::load(&StackRequest {
                stack_file: Some(recorded("landscape.yaml", &text)),
                ..Default::default()
            });
        });
    }
    for _ in 0..2_000 {
        let len = rng.below(200);
        let text = rng.string(
            &[
                "a",
                ":",
                " ",
                "\n",
                "- ",
                "{",
                "}",
                "[",
                "]",
                "name",
                "extends",
                "components",
                "0",
            ],
            len,
        );
        no_panic("stack::load", &text, || {
            let _ = landscape::stack::load(&StackRequest {
                stack_file: Some(recorded("landscape.yaml", &text)),
                ..Default::default()
            });
        });
    }
}

#[test]
fn values_files_never_panic() {
    let mut rng = Rng(0x7a1_0e5);
    let base = "velero:\n  backup:\n    provider: aws\n    bucket: b\n    region: r\nkyverno-policies:\n  validationFailureAction: Audit\n  excludeNamespaces: [legacy]\nkube-prometheus-stack:\n  chart:\n    grafana: {replicas: 2}\n";
    for text in mutations(&mut rng, base, 3_000) {
        no_panic("values file", &text, || {
            let _ = landscape::stack::load(&StackRequest {
                values: vec![recorded("values.yaml", &text)],
                ..StackRequest::profile("small")
            });
        });
    }
}

#[test]
fn the_real_profiles_mutated_never_panic() {
    let mut rng = Rng(0xfeed_beef);
    for profile in landscape::stack::profile_names() {
        let file = landscape::assets::stack_file(&format!("{profile}.yaml")).unwrap();
        let text = file.text.replace("extends:", "# extends:");
        for mutated in mutations(&mut rng, &text, 300) {
            no_panic("profile", &mutated, || {
                if let Ok(stack) = landscape::stack::load(&StackRequest {
                    stack_file: Some(recorded("profile.yaml", &mutated)),
                    ..Default::default()
                }) {
                    let _ = landscape::plan::build(&stack);
                }
            });
        }
    }
}
