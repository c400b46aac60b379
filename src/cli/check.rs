//! `landscape check` and `landscape wait`: the health rules on any manifests — as written
//! in the files (status included, no cluster), or live until ready.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde_json::json;

use landscape::ExitCode;
use landscape::cancel::Cancel;
use landscape::cluster::Cluster;
use landscape::health::{Health, HealthOptions, ReadinessRule};
use landscape::k8s::Object;

use super::args::{KubeArgs, StackArgs, parse_duration};
use super::{GlobalArgs, Output};

/// The manifests, and where readiness rules come from.
#[derive(Debug, Args)]
pub struct Manifests {
    /// Manifest files (or every .yaml/.yml file in a directory; `-` is standard input).
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Also a stack's readiness rules (with --stack or --profile; values with --values).
    #[command(flatten)]
    pub stack: StackArgs,
    /// Also require LoadBalancer Services to have an address.
    #[arg(long)]
    pub wait_for_load_balancers: bool,
}

impl Manifests {
    fn objects(&self) -> Result<Vec<Object>, landscape::Error> {
        let mut out = Vec::new();
        for file in super::args::manifest_files(&self.files)? {
            out.extend(
                landscape::render::parse::read_manifest_file(&file)?
                    .into_iter()
                    .map(|(o, _)| o),
            );
        }
        Ok(out)
    }

    /// The readiness rules of every component of the stack named by `--stack` or
    /// `--profile` (none without one).
    fn rules(&self) -> Result<Vec<ReadinessRule>, landscape::Error> {
        if self.stack.profile.is_none() && self.stack.stack.is_none() {
            return Ok(vec![]);
        }
        let loaded = landscape::prepare::load(&self.stack.request())?;
        Ok(loaded
            .stack
            .components
            .into_iter()
            .flat_map(|c| c.readiness)
            .collect())
    }

    fn health(&self) -> HealthOptions {
        HealthOptions {
            load_balancers: self.wait_for_load_balancers,
        }
    }
}

#[derive(Debug, Args)]
#[command(
    mut_arg("values", |a| a.short(None)),
    after_help = "Examples:
  landscape check -f status-snapshot.yaml
  kubectl get deploy,sts,certificates -A -o yaml | landscape check -f - -o json
  landscape check -f cluster.yaml --profile medium   # with the profile's readiness rules"
)]
pub struct CheckArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub manifests: Manifests,
}

#[derive(Debug, Args)]
#[command(
    mut_arg("values", |a| a.short(None)),
    after_help = "Examples:
  kubectl apply -f deploy/ && landscape wait -f deploy/ --timeout 5m
  landscape wait -f certificate.yaml -o json --timeout 2m
  landscape wait -f ceph.yaml --profile medium --timeout 30m"
)]
pub struct WaitArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub manifests: Manifests,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// How long to wait (default 5m).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", default_value = "5m")]
    pub timeout: Duration,
}

pub fn check(args: &CheckArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let objects = args.manifests.objects()?;
    let rules = args.manifests.rules()?;
    let health = args.manifests.health();
    let assessed: Vec<(&Object, Health)> = objects
        .iter()
        .map(|o| (o, landscape::health::assess(o, &rules, &health)))
        .collect();
    match global.output() {
        Output::Json => {
            let items: Vec<_> = assessed
                .iter()
                .map(|(o, h)| {
                    json!({
                        "object": o.key(),
                        "state": state(h),
                        "reason": h.reason(),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&items)?);
        }
        Output::Text => {
            for (o, h) in &assessed {
                match h {
                    Health::Ready => println!("{:<12}{}", "ready", o.key()),
                    other => println!("{:<12}{}: {}", state(other), o.key(), other.reason()),
                }
            }
        }
    }
    Ok(if assessed.iter().all(|(_, h)| h.is_ready()) {
        ExitCode::Success
    } else {
        ExitCode::GateFailed
    })
}

fn state(h: &Health) -> &'static str {
    match h {
        Health::Ready => "ready",
        Health::Progressing(_) => "progressing",
        Health::Failed(_) => "failed",
    }
}

pub async fn wait(args: WaitArgs, global: &GlobalArgs, cancel: Cancel) -> anyhow::Result<ExitCode> {
    let objects = args.manifests.objects()?;
    let rules = args.manifests.rules()?;
    let cluster = Cluster::connect(&args.kube.cluster_args(Some(args.timeout))?)
        .await
        .map_err(landscape::Error::from)?;
    let sink = super::up::sink(global);
    cancel.arm();
    let result = landscape::engine::wait(
        &cluster,
        sink.as_ref(),
        &objects,
        rules,
        args.manifests.health(),
        args.timeout,
        &cancel,
    )
    .await;
    let failure = match result {
        Ok(()) => {
            if global.output() == Output::Json {
                println!(
                    "{}",
                    json!({"time": landscape::report::now_rfc3339(), "event": "ready", "objects": objects.len()})
                );
            } else {
                eprintln!("{} object(s) ready", objects.len());
            }
            return Ok(ExitCode::Success);
        }
        Err(f) => f,
    };
    let class = match failure.class {
        landscape::report::FailureClass::Api => "api",
        _ => "gate",
    };
    if global.output() == Output::Json {
        println!(
            "{}",
            json!({
                "time": landscape::report::now_rfc3339(),
                "event": "failed",
                "component": "wait",
                "error": landscape::report::redact::redact(&failure.error),
                "class": class,
                "not_ready": failure.not_ready,
            })
        );
    } else {
        for n in &failure.not_ready {
            eprintln!("  not ready: {}: {}", n.object, n.reason);
            for p in &n.pods {
                eprintln!("    pod {p}");
            }
            for e in &n.events {
                eprintln!("    event: {e}");
            }
        }
    }
    let code = match failure.class {
        landscape::report::FailureClass::Api => ExitCode::Cluster,
        _ => ExitCode::GateFailed,
    };
    eprintln!(
        "error: {}",
        landscape::report::redact::redact(&failure.error)
    );
    Ok(code)
}
