//! The built-in profiles and component catalog (`stacks/`, embedded: see `assets`).

use crate::assets::{self, Asset};

fn read(path: &str) -> Option<Asset> {
    assets::stack_file(path)
}

/// The names of the built-in profiles, in the order small, medium, large.
pub fn profile_names() -> Vec<String> {
    let mut names: Vec<String> = assets::stack_paths()
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

pub fn profile(name: &str) -> Option<Asset> {
    if name.contains('/') {
        return None;
    }
    read(&format!("{name}.yaml"))
}

/// A catalog component by name (`stacks/components/<name>.yaml`).
pub fn catalog_component(name: &str) -> Option<Asset> {
    if name.contains('/') {
        return None;
    }
    read(&format!("components/{name}.yaml"))
}

pub fn catalog_names() -> Vec<String> {
    let mut names: Vec<String> = assets::stack_paths()
        .filter_map(|p| p.strip_prefix("components/").map(str::to_string))
        .filter_map(|p| p.strip_suffix(".yaml").map(str::to_string))
        .collect();
    names.sort();
    names
}
