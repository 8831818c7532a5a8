//! The crate's modules sit in layers, and each imports only from its own layer or below: the
//! vocabulary (`model`) at the bottom, the commands at the top. This reads every source file and
//! fails on an import that points up, so the ring the modules once formed cannot come back
//! quietly. No Docker, no build of the crate needed beyond this test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Bottom to top. A module may import from its own row and the rows above it in this list.
const LAYERS: &[&[&str]] = &[
    // Shared words, errors and exit codes, file writing: below everything.
    &["model", "exit_codes", "error", "store"],
    // What happened in a run, and reading it back.
    &["history", "history_reader"],
    // The checker reads histories; it knows nothing of clients, clusters, scenarios or runs.
    &["checker"],
    // The clients: the worker processes and the harness's own Kafka clients (final reader, lag).
    &["workload"],
    // The cluster: the trait, containers, external clusters, the fake.
    &["cluster"],
    // Scenario files, then the plan of cells they expand to.
    &["scenario"],
    &["plan"],
    &["judge", "summary"],
    // Running a plan against a cluster.
    &["faults", "runner", "smoke"],
    &["report"],
    &["cli", "commands"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|row| row.contains(&module))
}

/// The top-level module a source file belongs to: `src/checker/tally.rs` -> `checker`.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

/// Every top-level module a source text imports through `crate::`: `crate::checker::X`,
/// `use crate::{cluster::Y, scenario}`. Comments are skipped.
fn imports(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        let preceded_by_ident = rest[..i].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[i + "crate::".len()..];
        if preceded_by_ident {
            continue; // `kafka_chaos_crate::`, not ours
        }
        if let Some(group) = rest.strip_prefix('{') {
            // The names at the group's first level: `{a::b, c, d::{e, f}}` -> a, c, d.
            let (mut depth, mut start) = (0usize, 0usize);
            for (j, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.extend(head(&group[start..j]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.extend(head(&group[start..j]));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.extend(head(rest));
        }
    }
    found
}

/// The identifier a path starts with.
fn head(path: &str) -> Option<String> {
    let name: String = path.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(name)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `file: module (layer) imports module (layer)` for every upward import in `src`.
fn upward_imports(src: &Path) -> (Vec<String>, usize) {
    let mut files = Vec::new();
    sources(src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let module = module_of(src, file).unwrap();
        if module == "main" || module == "lib" {
            continue; // the crate's roots sit above every layer
        }
        let Some(own) = layer_of(&module) else {
            problems.push(format!("{}: module `{module}` is in no layer; add it to LAYERS in tests/layers.rs", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for imported in imports(&text) {
            match layer_of(&imported) {
                Some(theirs) if theirs > own => problems.push(format!(
                    "{}: `{module}` (layer {own}) imports `crate::{imported}` (layer {theirs}), a layer above it",
                    file.display()
                )),
                Some(_) => {}
                None => problems.push(format!("{}: imports `crate::{imported}`, a module in no layer", file.display())),
            }
        }
    }
    (problems, files.len())
}

#[test]
fn no_module_imports_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (problems, files) = upward_imports(&src);
    assert!(files > 50, "read only {files} source files from {}", src.display());
    assert!(problems.is_empty(), "imports that point up:\n{}", problems.join("\n"));
}

#[test]
fn the_check_sees_grouped_imports_and_ignores_comments() {
    let text = "use crate::model::Count;\n// use crate::runner::Runner;\nuse crate::{checker::Analysis, history, scenario::{A, B}};\nlet x = crate::judge::judge(y);\n";
    let found: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(found, ["checker", "history", "judge", "model", "scenario"]);
}

#[test]
fn a_planted_upward_import_is_found() {
    let dir = std::env::temp_dir().join(format!("kafka-chaos-layers-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("model")).unwrap();
    std::fs::write(dir.join("model/count.rs"), "use crate::report::palette::Outcome;\n").unwrap();
    std::fs::write(dir.join("report.rs"), "use crate::model::Count;\n").unwrap();
    let (problems, _) = upward_imports(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("`model` (layer 0) imports `crate::report`"), "{}", problems[0]);
}

#[test]
fn the_checker_sits_below_the_cluster() {
    let layer = |m: &str| layer_of(m).unwrap();
    assert!(layer("checker") < layer("workload") && layer("checker") < layer("cluster"));
}
