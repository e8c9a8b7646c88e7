//! The house's one direction, checked from the `use` lines: each top-level module of `src/`
//! imports only the layers below it (a name two layers need belongs to the lower one), modules
//! of one floor do not import each other, and no command file under `src/cli/` imports
//! another command. Test code (`#[cfg(test)]` modules, `tests.rs`, `testing.rs`,
//! `test_support.rs`) may reach up to build its fixtures and is left out.

use std::fs;
use std::path::{Path, PathBuf};

/// The layers from the top down; the modules on one line are one floor.
const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["import", "relay", "backend", "fleet"],
    &["plan"],
    &["discovery"],
    &["settings"],
    &["store"],
    &["model"],
    &["sys"],
    &["output"],
    &["error"],
];

/// What a `cli/` file may import besides the layers: the command line's own shared parts.
const CLI_SHARED: &[&str] = &["shared", "Ctx", "command", "mod"];

fn floor(module: &str) -> Option<usize> {
    LAYERS.iter().position(|f| f.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's text without its test modules (`#[cfg(test)]`, other attributes, `mod x {`
/// up to the `}` at the same indentation).
fn non_test_code(text: &str) -> String {
    let mut kept = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim_start() != "#[cfg(test)]" {
            kept.push_str(line);
            kept.push('\n');
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let closing = format!("{}}}", " ".repeat(indent));
        for next in lines.by_ref() {
            let item = next.trim_start();
            if item.starts_with("#[") || item.starts_with("//") {
                continue;
            }
            // An item that ends on its line (`mod tests;`, a `use`) is all there is.
            if !item.ends_with('{') {
                break;
            }
            for inner in lines.by_ref() {
                if inner == closing {
                    break;
                }
            }
            break;
        }
    }
    kept
}

/// Every `crate::<module>` the code names (in `use` lines and in paths).
fn crate_modules(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.push(name);
        }
    }
    // `use crate::{a, b::c}` names several.
    for (at, _) in code.match_indices("crate::{") {
        let rest = &code[at + "crate::{".len()..];
        let group = &rest[..rest.find('}').unwrap_or(rest.len())];
        for item in group.split(',') {
            let name: String = item
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

#[test]
fn imports_run_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        let name = rel.file_name().unwrap().to_string_lossy();
        if matches!(top.as_str(), "lib" | "main" | "test_support")
            || matches!(name.as_ref(), "tests.rs" | "testing.rs")
        {
            continue;
        }
        let Some(own) = floor(&top) else {
            wrong.push(format!(
                "{}: the module '{top}' is on no floor of LAYERS",
                rel.display()
            ));
            continue;
        };
        let code = non_test_code(&fs::read_to_string(file).unwrap());
        for used in crate_modules(&code) {
            if used == top {
                continue;
            }
            match floor(&used) {
                Some(f) if f > own => {}
                Some(f) if f == own => wrong.push(format!(
                    "{}: '{top}' imports '{used}', a module of its own floor",
                    rel.display()
                )),
                Some(_) => wrong.push(format!(
                    "{}: '{top}' imports '{used}', a layer above it",
                    rel.display()
                )),
                // Names at the crate's root (`crate::Error`, `crate::run`) are lib.rs's.
                None if matches!(used.as_str(), "Error" | "Result") => {}
                None => wrong.push(format!(
                    "{}: '{top}' imports '{used}', which is on no floor of LAYERS",
                    rel.display()
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that run the wrong way:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn commands_do_not_import_commands() {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli");
    let mut files = Vec::new();
    rust_files(&cli, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&cli).unwrap();
        let name = rel.file_name().unwrap().to_string_lossy();
        let shared = rel.starts_with("shared") || name == "shared.rs";
        if name == "mod.rs" || shared {
            continue;
        }
        let code = non_test_code(&fs::read_to_string(file).unwrap());
        for (at, _) in code.match_indices("super::") {
            let rest = &code[at + "super::".len()..];
            let item: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let first_floor_up = rel.components().count() == 1;
            if item.is_empty() || CLI_SHARED.contains(&item.as_str()) || item == "super" {
                continue;
            }
            // `super::x` from a command group's file names the group's own parts.
            if !first_floor_up {
                continue;
            }
            wrong.push(format!(
                "cli/{}: imports the command '{item}'",
                rel.display()
            ));
        }
        for (at, _) in code.match_indices("crate::cli::") {
            let rest = &code[at + "crate::cli::".len()..];
            let item: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !CLI_SHARED.contains(&item.as_str()) {
                wrong.push(format!(
                    "cli/{}: imports the command '{item}'",
                    rel.display()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "commands importing commands:\n{}",
        wrong.join("\n")
    );
}
