//! The engine's modules import each other without a cycle, and the leaf structures import
//! nothing that holds the engine together: read from the sources, so a change that ties the
//! house back into a knot fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules it names as `crate::…` (tests and doc comments
/// excluded).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).expect("under src");
            let first = rel.components().next().expect("a component");
            let module = first
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            if module == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source readable");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let deps = out.entry(module.clone()).or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (i, _) in line.match_indices("crate::") {
                    let name: String = line[i + "crate::".len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != module {
                        deps.insert(name);
                    }
                }
            }
        }
    }
    out
}

/// Whether `to` is reachable from `from`.
fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_owned()];
    while let Some(m) = todo.pop() {
        for d in graph.get(&m).into_iter().flatten() {
            if d == to {
                return true;
            }
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    false
}

#[test]
fn no_module_imports_itself_back() {
    let graph = imports();
    assert!(
        graph.contains_key("engine") && graph.contains_key("number"),
        "{graph:?}"
    );
    let cycles: Vec<String> = graph
        .keys()
        .filter(|m| reaches(&graph, m, m))
        .cloned()
        .collect();
    assert!(
        cycles.is_empty(),
        "modules in an import cycle: {cycles:?}\n{graph:#?}"
    );
}

#[test]
fn the_facade_is_imported_by_nothing_and_leaves_stay_leaves() {
    let graph = imports();
    for (module, deps) in &graph {
        assert!(
            !deps.contains("engine"),
            "{module} imports the Engine façade"
        );
    }
    // Structures that must never see the engine's context or its actors.
    for leaf in [
        "index",
        "ledger",
        "deadlines",
        "expiry",
        "sms",
        "outbox",
        "banks",
        "clock",
    ] {
        let deps = &graph[leaf];
        for forbidden in [
            "shared",
            "number",
            "engine",
            "dispatcher",
            "tasks",
            "delivery",
        ] {
            assert!(
                !deps.contains(forbidden),
                "{leaf} imports {forbidden}: {deps:?}"
            );
        }
    }
}
