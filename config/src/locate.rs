//! Finding the line of a dotted key (`clusters[0].treated[1]`) in the config text, for error messages.

pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// The line a dotted key path with indices is on, or its nearest existing parent's.
pub(crate) fn line_of_key(doc: &toml_edit::Document<&str>, text: &str, key: &str) -> Option<usize> {
    use toml_edit::{Item, Table, Value};
    enum Node<'a> {
        Table(&'a Table),
        Item(&'a Item),
        Value(&'a Value),
    }
    impl<'a> Node<'a> {
        fn get(&self, name: &str) -> Option<Node<'a>> {
            match self {
                Node::Table(t) => t.get(name).map(Node::Item),
                Node::Item(i) => i.get(name).map(Node::Item),
                Node::Value(v) => v.as_inline_table()?.get(name).map(Node::Value),
            }
        }
        fn index(&self, i: usize) -> Option<Node<'a>> {
            match self {
                Node::Item(Item::ArrayOfTables(a)) => a.get(i).map(Node::Table),
                Node::Item(item) => item.as_array()?.get(i).map(Node::Value),
                Node::Value(v) => v.as_array()?.get(i).map(Node::Value),
                Node::Table(_) => None,
            }
        }
        fn span(&self) -> Option<std::ops::Range<usize>> {
            match self {
                Node::Table(t) => t.span(),
                Node::Item(i) => i.span(),
                Node::Value(v) => v.span(),
            }
        }
    }
    let mut node = Node::Table(doc.as_table());
    let mut best = None;
    'walk: for segment in key.split('.') {
        let (name, indices) = split_indices(segment);
        let Some(next) = node.get(name) else { break };
        node = next;
        best = node.span().or(best);
        for i in indices {
            let Some(next) = node.index(i) else {
                break 'walk;
            };
            node = next;
            best = node.span().or(best);
        }
    }
    best.map(|s| line_of(text, s.start))
}

fn split_indices(segment: &str) -> (&str, Vec<usize>) {
    let name_end = segment.find('[').unwrap_or(segment.len());
    let indices = segment[name_end..]
        .split(['[', ']'])
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    (&segment[..name_end], indices)
}

/// The dotted key a byte offset falls in, e.g. `sources[1].schedule` or `http.retries`, for serde's
/// errors: the table of the offset and, when the offset's line assigns a key, that key.
pub(crate) fn key_at(text: &str, offset: Option<usize>) -> Option<String> {
    let offset = offset?;
    let mut counts = std::collections::HashMap::<String, usize>::new();
    let mut current = None;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if pos > offset {
            break;
        }
        if offset < pos + line.len() {
            // The offset's own line: `key = value` names the key.
            if let Some((key, _)) = line.split_once('=') {
                let key = key.trim().trim_matches('"');
                if !key.is_empty() && !key.starts_with('[') && !key.contains(char::is_whitespace) {
                    return Some(match current {
                        Some(table) => format!("{table}.{key}"),
                        None => key.to_string(),
                    });
                }
            }
        }
        let t = line.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|t| t.split("]]").next()) {
            let n = counts.entry(name.trim().to_string()).or_insert(0);
            current = Some(format!("{}[{}]", name.trim(), *n));
            *n += 1;
        } else if let Some(name) = t.strip_prefix('[').and_then(|t| t.split(']').next()) {
            current = Some(name.trim().to_string());
        }
        pos += line.len();
    }
    current
}
