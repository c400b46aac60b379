//! Free-form YAML values that remember where each key was written.
//!
//! Values files and the `values:` of stack files are free-form maps, yet a typo in them
//! must be reported with file, line and column like any other mistake. serde_json's `Value`
//! forgets positions, so values are read into a [`Tree`] whose map keys are spanned, then
//! turned into JSON plus an index from value path to position.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use crate::yaml::Position;

/// A YAML value whose map keys carry their source position.
#[derive(Clone, Debug, Default)]
pub enum Tree {
    #[default]
    Null,
    Scalar(Value),
    Seq(Vec<Tree>),
    Map(Vec<(Spanned<String>, Tree)>),
}

/// Dotted value paths (`backup.bucket`) mapped to where they were written.
pub type Positions = BTreeMap<String, Position>;

impl Tree {
    /// The JSON value, and the position of every map key by dotted path (prefixed by `prefix`).
    pub fn into_value(self, prefix: &str, positions: &mut Positions) -> Value {
        match self {
            Tree::Null => Value::Null,
            Tree::Scalar(v) => v,
            Tree::Seq(items) => Value::Array(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, t)| t.into_value(&format!("{prefix}[{i}]"), positions))
                    .collect(),
            ),
            Tree::Map(entries) => {
                let mut map = Map::new();
                for (key, tree) in entries {
                    let path = join_path(prefix, &key.value);
                    if let Some(pos) = Position::from_location(key.referenced) {
                        positions.insert(path.clone(), pos);
                    }
                    map.insert(key.value, tree.into_value(&path, positions));
                }
                Value::Object(map)
            }
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Tree::Null)
    }
}

/// `a` + `b` → `a.b`; the empty prefix is the root.
pub fn join_path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_none<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
        Tree::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Tree, E> {
        Ok(Tree::Scalar(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Tree, E> {
        Ok(Tree::Scalar(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Tree, E> {
        Ok(Tree::Scalar(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Tree, E> {
        Ok(Tree::Scalar(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }
    fn visit_str<E>(self, v: &str) -> Result<Tree, E> {
        Ok(Tree::Scalar(Value::String(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Tree, E> {
        Ok(Tree::Scalar(Value::String(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Tree>()? {
            items.push(item);
        }
        Ok(Tree::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut entries: Vec<(Spanned<String>, Tree)> = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Tree>()?;
            if entries.iter().any(|(k, _)| k.value == key.value) {
                return Err(de::Error::custom(format!("duplicate key `{}`", key.value)));
            }
            entries.push((key, value));
        }
        Ok(Tree::Map(entries))
    }
}

/// A map that keeps its keys' order and positions: component lists in stack files.
#[derive(Clone, Debug)]
pub struct OrderedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V2<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(OrderedMap::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(Spanned<String>, V)> = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value::<V>()?;
                    if entries.iter().any(|(k, _)| k.value == key.value) {
                        return Err(de::Error::custom(format!("duplicate key `{}`", key.value)));
                    }
                    entries.push((key, value));
                }
                Ok(OrderedMap(entries))
            }
        }
        deserializer.deserialize_map(V2(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_follow_nested_keys() {
        let tree: Tree = crate::yaml::from_str("velero:\n  backup:\n    bucket: b\n").unwrap();
        let mut pos = Positions::new();
        let value = tree.into_value("", &mut pos);
        assert_eq!(value["velero"]["backup"]["bucket"], "b");
        assert_eq!(pos["velero.backup.bucket"], Position { line: 3, column: 5 });
        assert_eq!(pos["velero"].line, 1);
    }

    #[test]
    fn ordered_maps_keep_order_and_reject_duplicates() {
        let m: OrderedMap<Tree> = crate::yaml::from_str("b: 1\na: 2\n").unwrap();
        let keys: Vec<_> = m.0.iter().map(|(k, _)| k.value.as_str()).collect();
        assert_eq!(keys, ["b", "a"]);
        assert!(crate::yaml::from_str::<OrderedMap<Tree>>("a: 1\na: 2\n").is_err());
    }
}
