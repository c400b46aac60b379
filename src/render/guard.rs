//! What a template may not do before it is rendered. Templates come from stack files in
//! pull requests; handlebars has no limit on how deep blocks nest or how often a partial
//! may include itself, and running out of stack aborts the process, which no error
//! handling can catch. So templates are read once for their structure first: blocks nest
//! at most [`MAX_DEPTH`] deep, partials are named literally, and no partial includes
//! itself, directly or through others.

use std::collections::{BTreeMap, BTreeSet};

/// How deep blocks (`{{#if}}`, `{{#each}}`, …) may nest.
pub const MAX_DEPTH: usize = 64;

/// Checks a set of templates that may include each other (a template folder; or one
/// template on its own). `(name, text)` pairs.
pub fn check(templates: &[(&str, &str)]) -> Result<(), String> {
    let mut includes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, text) in templates {
        scan(name, text, &mut includes)?;
    }
    if let Some(cycle) = find_cycle(&includes) {
        return Err(format!(
            "partials include each other without end: {}",
            cycle.join(" -> ")
        ));
    }
    Ok(())
}

/// The tags of a template: `{{…}}` with the text between the braces.
fn tags(text: &str) -> impl Iterator<Item = &str> {
    text.split("{{")
        .skip(1)
        .filter_map(|t| t.split_once("}}").map(|(tag, _)| tag))
}

/// Records which partials `name` (and each inline partial it defines) includes, and
/// checks the nesting depth.
fn scan(
    name: &str,
    text: &str,
    includes: &mut BTreeMap<String, BTreeSet<String>>,
) -> Result<(), String> {
    let mut depth = 0usize;
    // The partial whose body we are in: the template itself, or an inline definition.
    let mut scope: Vec<String> = vec![name.to_string()];
    includes.entry(name.to_string()).or_default();
    for tag in tags(text) {
        let tag = tag.trim_start_matches(['{', '~']).trim();
        if let Some(open) = tag.strip_prefix('#') {
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(format!("{name}: blocks nest more than {MAX_DEPTH} deep"));
            }
            if let Some(inline) = open.strip_prefix("*inline") {
                let partial = literal(inline).ok_or_else(|| {
                    format!("{name}: an inline partial must be named with a quoted string")
                })?;
                includes.entry(partial.clone()).or_default();
                scope.push(partial);
            } else if let Some(block) = open.strip_prefix('>') {
                include(name, block, scope.last().expect("a scope"), includes)?;
            }
        } else if let Some(close) = tag.strip_prefix('/') {
            depth = depth.saturating_sub(1);
            if close.trim() == "inline" && scope.len() > 1 {
                scope.pop();
            }
        } else if let Some(partial) = tag.strip_prefix('>') {
            include(name, partial, scope.last().expect("a scope"), includes)?;
        }
    }
    Ok(())
}

fn include(
    template: &str,
    reference: &str,
    from: &str,
    includes: &mut BTreeMap<String, BTreeSet<String>>,
) -> Result<(), String> {
    let target = literal(reference).ok_or_else(|| {
        format!("{template}: partials must be named literally (no computed partial names)")
    })?;
    includes.entry(from.to_string()).or_default().insert(target);
    Ok(())
}

/// The first word of a tag body as a literal name: `name`, `"name"` or `'name'`; None for a
/// subexpression.
fn literal(body: &str) -> Option<String> {
    let word = body.split_whitespace().next()?;
    if word.starts_with('(') || word.starts_with('@') {
        return None;
    }
    Some(word.trim_matches(|c| c == '"' || c == '\'').to_string())
}

/// A cycle among the includes, closed (`a -> b -> a`), if there is one.
fn find_cycle(includes: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        includes: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in includes.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, includes, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    includes
        .keys()
        .find_map(|n| visit(n, includes, &mut Vec::new(), &mut done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_templates_pass() {
        let t = "{{#*inline \"exclude\"}}x: {{#each a}}{{this}}{{/each}}{{/inline}}\n{{> exclude}}\n{{#if b}}{{> exclude}}{{/if}}";
        assert_eq!(check(&[("t", t)]), Ok(()));
    }

    #[test]
    fn partials_that_include_themselves_are_refused() {
        let direct = "{{#*inline \"a\"}}{{> a}}{{/inline}}{{> a}}";
        assert!(check(&[("t", direct)]).unwrap_err().contains("a -> a"));
        let mutual = [("x.hbs", "{{> y.hbs}}"), ("y.hbs", "{{> x.hbs}}")];
        assert!(check(&mutual).unwrap_err().contains("without end"));
        assert!(check(&[("t", "{{> (lookup . \"p\")}}")]).is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = "{{#if a}}".repeat(100) + &"{{/if}}".repeat(100);
        assert!(check(&[("t", &deep)]).unwrap_err().contains("nest"));
    }
}
