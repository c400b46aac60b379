//! Everything embedded in the binary, in one registry: the built-in profiles and component
//! catalog (`stacks/`) and the template folders (`templates/`), so that the binary needs
//! no files beside it and there is one place that says what ships inside it.

use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "stacks/"]
#[include = "*.yaml"]
struct Stacks;

#[derive(RustEmbed)]
#[folder = "templates/"]
struct Templates;

/// One embedded file: its path in the repository (`stacks/small.yaml`) and its text.
#[derive(Clone, Debug)]
pub struct Asset {
    pub path: String,
    pub text: String,
}

/// A file under `stacks/`, by its path there (`small.yaml`, `components/velero.yaml`).
pub fn stack_file(path: &str) -> Option<Asset> {
    let file = Stacks::get(path)?;
    Some(Asset {
        path: format!("stacks/{path}"),
        text: String::from_utf8_lossy(&file.data).into_owned(),
    })
}

/// The paths of every file under `stacks/`.
pub fn stack_paths() -> impl Iterator<Item = String> {
    Stacks::iter().map(|p| p.into_owned())
}

/// The files directly inside `templates/<folder>/`, in file-name order.
pub fn template_folder(folder: &str) -> Vec<Asset> {
    let prefix = format!("{folder}/");
    let mut files: Vec<Asset> = Templates::iter()
        .filter(|p| p.starts_with(&prefix) && !p[prefix.len()..].contains('/'))
        .filter_map(|p| {
            let data = Templates::get(&p)?;
            Some(Asset {
                path: format!("templates/{p}"),
                text: String::from_utf8_lossy(&data.data).into_owned(),
            })
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Whether landscape ships a template folder of that name.
pub fn has_template_folder(folder: &str) -> bool {
    !template_folder(folder).is_empty()
}
