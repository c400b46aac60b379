//! The built-in profiles and component catalog, embedded from `stacks/` at build time so
//! the binary needs no files beside it.

use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "stacks/"]
#[include = "*.yaml"]
struct Stacks;

/// A built-in YAML file: its path under `stacks/` and its text.
pub struct BuiltinFile {
    pub path: String,
    pub text: String,
}

fn read(path: &str) -> Option<BuiltinFile> {
    let file = Stacks::get(path)?;
    Some(BuiltinFile {
        path: format!("stacks/{path}"),
        text: String::from_utf8_lossy(&file.data).into_owned(),
    })
}

/// The names of the built-in profiles, in the order small, medium, large.
pub fn profile_names() -> Vec<String> {
    let mut names: Vec<String> = Stacks::iter()
        .filter(|p| !p.contains('/'))
        .filter_map(|p| p.strip_suffix(".yaml").map(str::to_string))
        .collect();
    let rank = |n: &str| match n {
        "small" => 0,
        "medium" => 1,
        "large" => 2,
        _ => 3,
    };
    names.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    names
}

pub fn profile(name: &str) -> Option<BuiltinFile> {
    if name.contains('/') {
        return None;
    }
    read(&format!("{name}.yaml"))
}

/// A catalog component by name (`stacks/components/<name>.yaml`).
pub fn catalog_component(name: &str) -> Option<BuiltinFile> {
    if name.contains('/') {
        return None;
    }
    read(&format!("components/{name}.yaml"))
}

pub fn catalog_names() -> Vec<String> {
    let mut names: Vec<String> = Stacks::iter()
        .filter_map(|p| p.strip_prefix("components/").map(str::to_string))
        .filter_map(|p| p.strip_suffix(".yaml").map(str::to_string))
        .collect();
    names.sort();
    names
}
