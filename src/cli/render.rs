//! `landscape render`: every object the stack would apply, offline.

use std::path::PathBuf;

use clap::Args;

use landscape::ExitCode;
use landscape::k8s::Capabilities;

use super::args::{SelectArgs, SourceArgs, StackArgs};
use super::{GlobalArgs, Output};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  landscape render --profile small -f values.yaml > small.yaml
  landscape render --stack platform.yaml --out rendered/ --kube-version v1.34.0
  landscape render --profile large --only cilium,linkerd | kubectl apply --dry-run=server -f -")]
pub struct RenderArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Write one folder per component into DIR instead of printing to stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The Kubernetes version charts are rendered for (offline; e.g. v1.36.0).
    #[arg(long, value_name = "VERSION")]
    pub kube_version: Option<String>,
    /// Print Secret values as rendered (by default they are masked as ***), for piping
    /// into another tool.
    #[arg(long)]
    pub show_secrets: bool,
    /// API versions charts may assume are served (repeatable; e.g. monitoring.coreos.com/v1).
    #[arg(long = "api-versions", value_name = "GROUP/VERSION")]
    pub api_versions: Vec<String>,
}

pub async fn run(args: RenderArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let caps = Capabilities {
        kube_version: args.kube_version.clone(),
        api_versions: args.api_versions.clone(),
        resources: vec![],
    };
    let loaded = landscape::prepare::load(&args.stack.request())?;
    let selected = args.select.select(&loaded.plan, &loaded.stack.name)?;
    let loaded = loaded.select(selected.as_ref());
    let mut prepared = landscape::prepare::prepare(loaded, &args.source.options(caps)).await?;
    if !args.show_secrets {
        for obj in prepared
            .rendered
            .iter_mut()
            .flat_map(|r| r.objects.iter_mut())
        {
            landscape::diff::mask::mask_pair(None, Some(&mut obj.0));
        }
    }
    if let Some(dir) = &args.out {
        for r in &prepared.rendered {
            let folder = dir.join(&r.name);
            std::fs::create_dir_all(&folder).map_err(|e| landscape::Error::write(&folder, e))?;
            for (i, obj) in r.objects.iter().enumerate() {
                let file = folder.join(format!(
                    "{:03}-{}-{}.yaml",
                    i + 1,
                    obj.kind().to_lowercase(),
                    obj.name().replace([':', '/'], "_")
                ));
                let text = shown(obj, args.show_secrets);
                write_private(&file, &text).map_err(|e| landscape::Error::write(&file, e))?;
            }
        }
        if global.output() == Output::Text {
            let total: usize = prepared.rendered.iter().map(|r| r.objects.len()).sum();
            eprintln!(
                "wrote {total} objects of {} components to {}",
                prepared.rendered.len(),
                dir.display()
            );
        }
        return Ok(ExitCode::Success);
    }
    match global.output() {
        Output::Json => {
            let mut items: serde_json::Value = prepared
                .rendered
                .iter()
                .map(|r| serde_json::json!({"component": r.name, "objects": r.objects}))
                .collect();
            if !args.show_secrets {
                landscape::report::redact::redact_json(&mut items);
            }
            println!("{}", serde_json::to_string(&items)?);
        }
        Output::Text => {
            let mut out = String::new();
            for r in &prepared.rendered {
                for obj in &r.objects {
                    out.push_str(&format!("---\n# component: {}\n", r.name));
                    out.push_str(&shown(obj, args.show_secrets));
                }
            }
            print!("{out}");
        }
    }
    Ok(ExitCode::Success)
}

/// A rendered object as it may be shown: every secret value redacted — Secret values, and
/// values the stack marks secret wherever they were used (a password in a ConfigMap) —
/// unless the user asked to see them. Redacted in the values themselves, so that names
/// stay readable.
fn shown(obj: &landscape::k8s::Object, show_secrets: bool) -> String {
    let mut value = obj.0.clone();
    if !show_secrets {
        landscape::report::redact::redact_json(&mut value);
    }
    landscape::yaml::to_string(&value)
}

/// Writes a rendered object readable by its owner only: with --show-secrets it may hold
/// Secret values.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}
