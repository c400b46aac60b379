//! `landscape lint`: the stack's rendered objects (or any manifests, with `-f`) against
//! the anti-patterns a platform's policies forbid.

use std::path::PathBuf;

use clap::Args;
use landscape::ExitCode;
use landscape::k8s::{Capabilities, Object};
use landscape::lint::{Finding, Options, Subject};

use super::args::{SelectArgs, SourceArgs, StackArgs};
use super::{Format, GlobalArgs};

#[derive(Debug, Args)]
#[command(
    mut_arg("values", |a| a.short(None)),
    after_help = "Examples:
  landscape lint --profile medium
  landscape lint -f deploy/ -f extra.yaml -o sarif > landscape.sarif   # for code scanning
  landscape lint --stack platform.yaml --values prod.yaml --show-exempt"
)]
pub struct LintArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Lint these manifest files (or every .yaml/.yml file in a directory; `-` is standard
    /// input) instead of a stack. Values files are `--values` here.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Also show findings the components are exempt from, with the reason.
    #[arg(long)]
    pub show_exempt: bool,
}

pub async fn run(args: LintArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let findings = if args.files.is_empty() {
        stack_findings(&args).await?
    } else {
        file_findings(&args.files)?
    };
    let shown: Vec<&Finding> = findings
        .iter()
        .filter(|f| args.show_exempt || f.exempt.is_none())
        .collect();
    let raised = findings.iter().filter(|f| f.exempt.is_none()).count();
    match global.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&shown)?),
        Format::Sarif => {
            let shown: Vec<Finding> = shown.into_iter().cloned().collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&landscape::lint::sarif::log(&shown))?
            )
        }
        _ => print!("{}", text(&shown, raised, findings.len() - raised)),
    }
    Ok(if raised > 0 {
        ExitCode::Differences
    } else {
        ExitCode::Success
    })
}

/// The stack rendered offline (missing required values as placeholders: lint reads the
/// shape of objects, not their settings), with each component's exemptions.
async fn stack_findings(args: &LintArgs) -> Result<Vec<Finding>, landscape::Error> {
    let mut opts = args.source.options(Capabilities::default());
    opts.placeholders = true;
    let loaded = landscape::prepare::load(&args.stack.request())?;
    let selected = args.select.select(&loaded.plan, &loaded.stack.name)?;
    let loaded = loaded.select(selected.as_ref());
    let lock_file = loaded.lock_file.clone();
    let prepared = landscape::prepare::prepare(loaded, &opts).await?;
    // A stack whose lock pins images by digest wants every image pinned.
    let require_digests = lock_file.is_file()
        && landscape::source::Lock::read(&lock_file)
            .is_ok_and(|l| l.images.iter().any(|i| i.contains("@sha256:")));
    let lint_opts = Options {
        require_digests,
        exempt: prepared
            .stack
            .components
            .iter()
            .map(|c| (c.name.clone(), c.lint_exempt.clone()))
            .collect(),
    };
    let subjects: Vec<Subject<'_>> = prepared
        .rendered
        .iter()
        .flat_map(|r| {
            r.objects.iter().map(|o| Subject {
                object: o,
                component: Some(r.name.as_str()),
                file: None,
                line: None,
            })
        })
        .collect();
    landscape::lint::lint(&subjects, &lint_opts).map_err(|e| landscape::Error::Usage(e.to_string()))
}

fn file_findings(files: &[PathBuf]) -> Result<Vec<Finding>, landscape::Error> {
    let mut read: Vec<(String, Object, Option<usize>)> = Vec::new();
    for file in super::args::manifest_files(files)? {
        let label = file.display().to_string();
        for (o, line) in landscape::render::parse::read_manifest_file(&file)? {
            read.push((label.clone(), o, line));
        }
    }
    let subjects: Vec<Subject<'_>> = read
        .iter()
        .map(|(file, o, line)| Subject {
            object: o,
            component: None,
            file: Some(file.as_str()),
            line: *line,
        })
        .collect();
    landscape::lint::lint(&subjects, &Options::default())
        .map_err(|e| landscape::Error::Usage(e.to_string()))
}

fn text(findings: &[&Finding], raised: usize, exempt: usize) -> String {
    let mut out = String::new();
    for f in findings {
        let place = match (&f.file, f.line, &f.component) {
            (Some(file), Some(line), _) => format!("{file}:{line}: "),
            (Some(file), None, _) => format!("{file}: "),
            (None, _, Some(c)) => format!("{c}: "),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{place}{} {}: {}\n    fix: {}\n",
            f.rule.name(),
            f.object,
            f.message,
            f.fix
        ));
        if let Some(reason) = &f.exempt {
            out.push_str(&format!("    exempt: {reason}\n"));
        }
    }
    out.push_str(&match (raised, exempt) {
        (0, 0) => "No findings.\n".to_string(),
        (0, e) => format!("No findings; {e} exempt (--show-exempt lists them with the reason).\n"),
        (n, 0) => format!("{n} finding(s).\n"),
        (n, e) => {
            format!("{n} finding(s); {e} exempt (--show-exempt lists them with the reason).\n")
        }
    });
    out
}
