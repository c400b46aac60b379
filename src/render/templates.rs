//! Template folders: the ones built into landscape (`templates/<name>/`) and local folders
//! named by user stacks. A folder's files render in file-name order, one after the other,
//! into one multi-document stream.

use std::path::{Path, PathBuf};

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

/// The files of a built-in folder, in file-name order.
pub fn builtin(folder: &str) -> Vec<TemplateFile> {
    crate::assets::template_folder(folder)
        .into_iter()
        .filter(|a| is_template(&a.path))
        .map(|a| TemplateFile {
            name: a.path,
            text: a.text,
        })
        .collect()
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
            let text = crate::files::read_text(&p, crate::files::INPUT_LIMIT)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", p.display())))?;
            Ok(TemplateFile {
                name: p.display().to_string(),
                text,
            })
        })
        .collect()
}
