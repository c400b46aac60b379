//! Template folders: the ones built into landscape (`templates/<name>/`) and local folders
//! named by user stacks. A folder's files render in file-name order, one after the other,
//! into one multi-document stream.

use std::path::{Path, PathBuf};

use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "templates/"]
struct Builtin;

/// One template: a display name for messages and its text.
#[derive(Clone, Debug)]
pub struct TemplateFile {
    /// `templates/<folder>/<file>` for built-ins, the path for local files.
    pub name: String,
    pub text: String,
}

fn is_template(name: &str) -> bool {
    name.ends_with(".hbs") || name.ends_with(".yaml") || name.ends_with(".yml")
}

/// True if landscape ships a template folder of that name.
pub fn has_builtin(folder: &str) -> bool {
    !builtin(folder).is_empty()
}

/// The files of a built-in folder, in file-name order.
pub fn builtin(folder: &str) -> Vec<TemplateFile> {
    let prefix = format!("{folder}/");
    let mut files: Vec<TemplateFile> = Builtin::iter()
        .filter(|p| p.starts_with(&prefix) && !p[prefix.len()..].contains('/') && is_template(p))
        .filter_map(|p| {
            let data = Builtin::get(&p)?;
            Some(TemplateFile {
                name: format!("templates/{p}"),
                text: String::from_utf8_lossy(&data.data).into_owned(),
            })
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

/// The template files of a local folder, in file-name order.
pub fn local(dir: &Path) -> std::io::Result<Vec<TemplateFile>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(is_template)
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            Ok(TemplateFile {
                name: p.display().to_string(),
                text: std::fs::read_to_string(&p)?,
            })
        })
        .collect()
}
