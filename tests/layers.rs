//! The house has no circles: reads every `src/` file's references to `crate::MODULE` and checks
//! that the graph of top-level modules is acyclic, so a layer never looks back up; the same for
//! the simulator's crate (`crates/sandbox/src/`, whose modules also reach each other through
//! `super::`), which moreover never names cer. Run alone with `cargo test --test layers`; a
//! failure names the circle or the file.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn top_level_modules_form_no_circle() {
    let graph = module_graph(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path());
    assert!(
        graph.contains_key("api"),
        "the graph was not read: {graph:?}"
    );
    if let Some(circle) = find_circle(&graph) {
        panic!(
            "modules import each other in a circle: {}",
            circle.join(" -> ")
        );
    }
}

#[test]
fn the_simulators_modules_form_no_circle() {
    let src = sandbox_src();
    let modules: BTreeSet<String> = rust_files(&src)
        .iter()
        .filter_map(|f| Some(owner_of(f.strip_prefix(&src).ok()?)))
        .collect();
    let mut graph = Graph::new();
    for file in rust_files(&src) {
        let owner = owner_of(file.strip_prefix(&src).unwrap_or(&file));
        if owner == "lib" {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap_or_default();
        let targets = graph.entry(owner.clone()).or_default();
        for prefix in ["crate::", "super::"] {
            for target in referenced_modules(&text, prefix) {
                // `super::` in a test module may name an item of its own module, not a module.
                if target != owner && modules.contains(&target) {
                    targets.insert(target);
                }
            }
        }
    }
    assert!(
        graph.get("faults").is_some_and(|t| t.contains("state")),
        "the graph was not read: {graph:?}"
    );
    if let Some(circle) = find_circle(&graph) {
        panic!(
            "the simulator's modules import each other in a circle: {}",
            circle.join(" -> ")
        );
    }
}

/// The crate boundary already keeps the client out (cer depends on cer-sandbox, so the reverse
/// would be a cycle Cargo refuses); this also keeps its name out of the simulator's code, so
/// nobody reaches for it through a dev-dependency or a doc link either.
#[test]
fn the_simulator_never_names_cer() {
    let src = sandbox_src();
    let files = rust_files(&src);
    assert!(
        files.len() > 10,
        "the simulator's files were not read: {files:?}"
    );
    let mut found = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            if names_cer(line) {
                found.push(format!("{}:{}: {line}", file.display(), number + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the simulator names cer:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_cer_check_sees_a_path_and_not_a_longer_word() {
    assert!(names_cer("use cer::api::ApiClient;"));
    assert!(names_cer("let x = ::cer::output::Output::new();"));
    assert!(!names_cer("use cer_sandbox::Sandbox;"));
    assert!(!names_cer("let spacer::x = 1; // a word ending in cer"));
}

fn sandbox_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/sandbox/src")
}

/// `cer::` as a path, not the end of a longer identifier.
fn names_cer(line: &str) -> bool {
    line.match_indices("cer::")
        .any(|(at, _)| !line[..at].chars().next_back().is_some_and(|c| is_ident(&c)))
}

/// The module a file belongs to: its first path component, with a `_tests` file counted as
/// part of the module it tests (attached there with `#[path]`).
fn owner_of(relative: &Path) -> String {
    let first = relative
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = first.trim_end_matches(".rs");
    stem.strip_suffix("_tests").unwrap_or(stem).to_string()
}

#[test]
fn the_checker_finds_a_planted_circle() {
    let mut graph = Graph::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    graph.entry("c".into()).or_default().insert("a".into());
    let circle = find_circle(&graph).expect("a -> b -> c -> a is a circle");
    assert_eq!(circle.first(), circle.last());
    assert_eq!(circle.len(), 4);
}

/// Which top-level modules each top-level module refers to, from `crate::x` paths in its files
/// (grouped `use crate::{x, y::z}` included). Test modules count too: they are code.
fn module_graph(src: &Path) -> Graph {
    let mut graph = Graph::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).unwrap_or(&file);
        let Some(first) = relative.components().next() else {
            continue;
        };
        let owner = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if owner == "lib" || owner == "main" {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap_or_default();
        let targets = graph.entry(owner.clone()).or_default();
        for target in referenced_modules(&text, "crate::") {
            if target != owner {
                targets.insert(target);
            }
        }
    }
    graph
}

fn referenced_modules(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices(prefix) {
        let rest = &text[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or_default();
            for part in inner.split(',') {
                let name: String = part.trim().chars().take_while(is_ident).collect();
                if !name.is_empty() && name != "self" {
                    found.insert(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(is_ident).collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn is_ident(c: &char) -> bool {
    c.is_ascii_alphanumeric() || *c == '_'
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A circle as a path that starts and ends at the same module, if there is one.
fn find_circle(graph: &Graph) -> Option<Vec<String>> {
    let mut done = BTreeSet::new();
    for start in graph.keys() {
        let mut path = Vec::new();
        if let Some(circle) = visit(graph, start, &mut path, &mut done) {
            return Some(circle);
        }
    }
    None
}

fn visit(
    graph: &Graph,
    node: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(at) = path.iter().position(|n| n == node) {
        let mut circle = path[at..].to_vec();
        circle.push(node.to_string());
        return Some(circle);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node.to_string());
    for next in graph.get(node).into_iter().flatten() {
        if let Some(circle) = visit(graph, next, path, done) {
            return Some(circle);
        }
    }
    path.pop();
    done.insert(node.to_string());
    None
}

#[test]
fn listen_modules_form_no_circle() {
    let listen = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/listen");
    let graph = folder_graph(&listen, "crate::listen::");
    assert!(
        graph.get("engine").is_some_and(|t| !t.is_empty()),
        "the graph of listen/ was not read: {graph:?}"
    );
    for file in rust_files(&listen) {
        let text = fs::read_to_string(&file).unwrap_or_default();
        assert!(
            !text.contains("#[path"),
            "{} attaches a module by #[path]: make it a folder",
            file.display()
        );
    }
    if let Some(circle) = find_circle(&graph) {
        panic!(
            "modules of listen/ import each other in a circle: {}",
            circle.join(" -> ")
        );
    }
}

/// Inside every folder of `src/`, not only `listen/`, the modules import each other without a
/// circle: the layers hold in each room as they do between the rooms.
#[test]
fn every_folders_modules_form_no_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut folders = Vec::new();
    let mut pending = vec![src.clone()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() && path.file_name().is_some_and(|n| n != "snapshots") {
                pending.push(path.clone());
                folders.push(path);
            }
        }
    }
    assert!(
        folders.len() >= 10,
        "the folders of src/ were not read: {folders:?}"
    );
    for folder in folders {
        let relative = folder.strip_prefix(&src).unwrap_or(&folder);
        let crate_path = format!("crate::{}::", relative.to_string_lossy().replace('/', "::"));
        let graph = folder_graph(&folder, &crate_path);
        if let Some(circle) = find_circle(&graph) {
            panic!(
                "modules of {} import each other in a circle: {}",
                relative.display(),
                circle.join(" -> ")
            );
        }
    }
}

#[test]
fn the_folder_reader_sees_siblings_at_any_depth() {
    let one = sibling_references("use super::{ledger::X, flood};\nsuper::timing::T", 1, "");
    assert_eq!(
        one,
        BTreeSet::from(["flood".into(), "ledger".into(), "timing".into()])
    );
    // Two levels down (`pump/reports.rs`), `super::` is `pump` itself and `super::super::` the
    // folder; a glob names no module.
    let two = sibling_references(
        "use super::Pump;\nuse super::super::gap::G;\nuse super::*;",
        2,
        "",
    );
    assert_eq!(two, BTreeSet::from(["gap".into()]));
    let named = sibling_references("crate::listen::ledger::minus_overlap", 1, "crate::listen::");
    assert_eq!(named, BTreeSet::from(["ledger".into()]));
}

/// Which children of `dir` (its files and subfolders, `mod.rs` aside: it only gathers them)
/// refer to which others, from `super::` paths that climb to `dir` and from `crate_path`
/// (`crate::listen::`). A reference to an item of `mod.rs` itself names no child.
fn folder_graph(dir: &Path, crate_path: &str) -> Graph {
    let children: BTreeSet<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "rs"))
        .filter_map(|p| Some(p.file_stem()?.to_string_lossy().to_string()))
        .filter(|name| name != "mod")
        .collect();
    let mut graph = Graph::new();
    for file in rust_files(dir) {
        let relative = file.strip_prefix(dir).unwrap_or(&file);
        let mut parts: Vec<String> = relative
            .components()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        let Some(owner) = parts.first().cloned() else {
            continue;
        };
        let text = fs::read_to_string(&file).unwrap_or_default();
        let targets = graph.entry(owner.clone()).or_default();
        for target in sibling_references(&text, parts.len(), crate_path) {
            if target != owner && children.contains(&target) {
                targets.insert(target);
            }
        }
    }
    graph
}

/// The names right after each `super::` chain exactly `depth` long (a file `depth` modules
/// below the folder) and after each `crate_path`.
fn sibling_references(text: &str, depth: usize, crate_path: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let climb = "super::".repeat(depth);
    for (at, _) in text.match_indices(&climb) {
        let before = &text[..at];
        let rest = &text[at + climb.len()..];
        if before.ends_with("super::") || rest.starts_with("super::") {
            continue;
        }
        found.extend(names_after(rest));
    }
    if !crate_path.is_empty() {
        for (at, _) in text.match_indices(crate_path) {
            found.extend(names_after(&text[at + crate_path.len()..]));
        }
    }
    found
}

/// `name` or each first name of a `{a, b::c}` group.
fn names_after(rest: &str) -> Vec<String> {
    let parts: Vec<&str> = match rest.strip_prefix('{') {
        Some(group) => group
            .split('}')
            .next()
            .unwrap_or_default()
            .split(',')
            .collect(),
        None => vec![rest],
    };
    parts
        .into_iter()
        .map(|part| part.trim().chars().take_while(is_ident).collect::<String>())
        .filter(|name| !name.is_empty() && name != "self")
        .collect()
}

/// `#[path]` hides where a module lives: a reader follows `mod name;` to `name.rs` or
/// `name/mod.rs`, nowhere else.
#[test]
fn no_module_is_put_somewhere_else_with_path() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[path") {
                found.push(format!("{}:{}", file.display(), number + 1));
            }
        }
    }
    assert!(found.is_empty(), "#[path] in:\n{}", found.join("\n"));
}

/// Lines a reader sees whole, side by side with a diff.
#[test]
fn no_source_line_is_longer_than_120_characters() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (number, line) in text.lines().enumerate() {
            let width = line.chars().count();
            if width > 120 {
                found.push(format!("{}:{} ({width})", file.display(), number + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "lines over 120 characters:\n{}",
        found.join("\n")
    );
}

/// One name per thing: two public types of one name (two `Store`s) make every import a
/// question of which one.
#[test]
fn no_two_public_types_share_a_name() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).expect("readable source");
        for name in public_type_names(&text) {
            seen.entry(name)
                .or_default()
                .push(file.display().to_string());
        }
    }
    let shared: Vec<String> = seen
        .into_iter()
        .filter(|(_, files)| files.len() > 1)
        .map(|(name, files)| format!("{name}: {}", files.join(", ")))
        .collect();
    assert!(
        shared.is_empty(),
        "public types sharing a name:\n{}",
        shared.join("\n")
    );
}

/// The names of the `pub` and `pub(crate)` structs, enums, traits and type aliases in `text`.
fn public_type_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let rest = line
                .strip_prefix("pub(crate) ")
                .or_else(|| line.strip_prefix("pub "))?;
            let rest = ["struct ", "enum ", "trait ", "type "]
                .iter()
                .find_map(|kind| rest.strip_prefix(kind))?;
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

#[test]
fn the_type_reader_sees_public_types_and_not_private_ones() {
    let text =
        "pub struct Store {\npub(crate) enum Kind {\nstruct Hidden;\n    pub type Alias = u8;\n";
    assert_eq!(public_type_names(text), ["Store", "Kind", "Alias"]);
}
