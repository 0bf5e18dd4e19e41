//! Merging config files given with repeated `-f`, by compose's rules: mappings merge key by
//! key; `environment`, `labels`, `build.args` and `extra_hosts` merge by variable; `ports` by
//! container port; `volumes` by target; other lists (`command`, `entrypoint`, ...) are replaced.

use super::syntax;
use super::yaml::{Node, Value};

/// Lays `over` on top of `base`.
pub fn merge(base: Node, over: Node) -> Node {
    merge_at(base, over, &mut Vec::new())
}

enum Rule {
    ByVariable,
    ByKey(fn(&Node) -> String),
    /// `depends_on`: a later file adds dependencies (or changes one's condition), whichever of
    /// the list and map forms each file uses.
    ByService,
    Replace,
}

fn rule_for(path: &[String]) -> Rule {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match p.as_slice() {
        ["services", _, "environment" | "labels" | "extra_hosts"] => Rule::ByVariable,
        ["services", _, "build", "args"] => Rule::ByVariable,
        ["services", _, "ports"] => Rule::ByKey(port_key),
        ["services", _, "volumes"] => Rule::ByKey(volume_key),
        ["services", _, "depends_on"] => Rule::ByService,
        _ => Rule::Replace,
    }
}

fn merge_at(base: Node, over: Node, path: &mut Vec<String>) -> Node {
    match rule_for(path) {
        Rule::ByVariable => {
            let (base, over) = (as_variable_map(base), as_variable_map(over));
            return merge_maps(base, over, path);
        }
        Rule::ByKey(key) => {
            if let (Value::Seq(mut items), Value::Seq(new)) = (base.value.clone(), &over.value) {
                for item in new {
                    let k = key(item);
                    match items.iter().position(|i| key(i) == k) {
                        Some(at) => items[at] = item.clone(),
                        None => items.push(item.clone()),
                    }
                }
                return Node::new(Value::Seq(items), over.pos);
            }
        }
        Rule::ByService => {
            let (base, over) = (as_dependency_map(base), as_dependency_map(over));
            return merge_maps(base, over, path);
        }
        Rule::Replace => {}
    }
    merge_maps(base, over, path)
}

/// `depends_on: [db]` as its map form, `{db: {condition: service_started}}`.
fn as_dependency_map(node: Node) -> Node {
    let Value::Seq(items) = &node.value else {
        return node;
    };
    let entries = items
        .iter()
        .map(|item| {
            let condition = (
                Node::new(Value::Str("condition".into()), item.pos),
                Node::new(Value::Str("service_started".into()), item.pos),
            );
            (
                item.clone(),
                Node::new(Value::Map(vec![condition]), item.pos),
            )
        })
        .collect();
    Node::new(Value::Map(entries), node.pos)
}

fn merge_maps(base: Node, over: Node, path: &mut Vec<String>) -> Node {
    match (base.value, over.value) {
        (Value::Map(mut entries), Value::Map(new)) => {
            for (k, v) in new {
                let found = entries.iter().position(|(bk, _)| bk.value == k.value);
                match found {
                    Some(at) => {
                        path.push(k.scalar_text().unwrap_or_default());
                        let old = entries[at].1.clone();
                        entries[at].1 = merge_at(old, v, path);
                        path.pop();
                    }
                    None => entries.push((k, v)),
                }
            }
            Node::new(Value::Map(entries), base.pos)
        }
        (_, value) => Node::new(value, over.pos),
    }
}

/// `["A=1", "B"]` becomes `{A: "1", B: null}`, so both forms merge by variable.
fn as_variable_map(node: Node) -> Node {
    let Value::Seq(items) = &node.value else {
        return node;
    };
    let mut entries = Vec::new();
    for item in items {
        let text = item.scalar_text().unwrap_or_default();
        let (k, v) = match text.split_once('=') {
            Some((k, v)) => (k.to_owned(), Value::Str(v.to_owned())),
            None => (text, Value::Null),
        };
        entries.push((Node::new(Value::Str(k), item.pos), Node::new(v, item.pos)));
    }
    Node::new(Value::Map(entries), node.pos)
}

fn port_key(node: &Node) -> String {
    if let Some(target) = node.get("target") {
        let proto = node
            .get("protocol")
            .and_then(Node::scalar_text)
            .unwrap_or_else(|| "tcp".into());
        return format!("{}/{proto}", target.scalar_text().unwrap_or_default());
    }
    let text = node.scalar_text().unwrap_or_default();
    match syntax::parse_port(&text) {
        Ok(ports) if !ports.is_empty() => format!("{}/{}", ports[0].target, ports[0].protocol),
        _ => text,
    }
}

fn volume_key(node: &Node) -> String {
    if let Some(target) = node.get("target") {
        return target.scalar_text().unwrap_or_default();
    }
    let text = node.scalar_text().unwrap_or_default();
    syntax::parse_volume(&text)
        .map(|m| m.target)
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml::parse;

    fn merged(a: &str, b: &str) -> Node {
        merge(parse(a, 0).unwrap(), parse(b, 1).unwrap())
    }

    fn web(n: &Node) -> &Node {
        n.get("services").unwrap().get("web").unwrap()
    }

    #[test]
    fn maps_merge_and_scalars_override() {
        let n = merged(
            "services:\n  web:\n    image: a\n    tty: true\n",
            "services:\n  web:\n    image: b\n",
        );
        assert_eq!(web(&n).get("image").unwrap().value, Value::Str("b".into()));
        assert_eq!(web(&n).get("tty").unwrap().value, Value::Bool(true));
    }

    #[test]
    fn environment_merges_by_variable_across_forms() {
        let n = merged(
            "services:\n  web:\n    environment: [A=1, B=2]\n",
            "services:\n  web:\n    environment:\n      B: three\n      C: '4'\n",
        );
        let env = web(&n).get("environment").unwrap();
        let pairs: Vec<(String, String)> = env
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.scalar_text().unwrap(), v.scalar_text().unwrap()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "three".into()),
                ("C".into(), "4".into())
            ]
        );
    }

    #[test]
    fn ports_merge_by_container_port_and_volumes_by_target() {
        let n = merged(
            "services:\n  web:\n    ports: ['3000:3000', '9229']\n    volumes: ['./a:/app', 'x:/data']\n",
            "services:\n  web:\n    ports: ['4000:3000']\n    volumes: ['./b:/app']\n",
        );
        let texts = |key: &str| -> Vec<String> {
            match &web(&n).get(key).unwrap().value {
                Value::Seq(items) => items.iter().map(|i| i.scalar_text().unwrap()).collect(),
                _ => vec![],
            }
        };
        assert_eq!(texts("ports"), vec!["4000:3000", "9229"]);
        assert_eq!(texts("volumes"), vec!["./b:/app", "x:/data"]);
    }

    #[test]
    fn command_is_replaced() {
        let n = merged(
            "services:\n  web:\n    command: [a, b, c]\n",
            "services:\n  web:\n    command: [d]\n",
        );
        let Value::Seq(items) = &web(&n).get("command").unwrap().value else {
            panic!("not a list")
        };
        let words: Vec<String> = items.iter().filter_map(Node::scalar_text).collect();
        assert_eq!(words, vec!["d"]);
    }
}
