//! The library's layers, held against its imports: `shared/src/lib.rs`'s layer table (each
//! layer imports only its own and those below it), the core free of adapters, the adapters
//! free of the core (what they share with it lives below it: ports and pure policy), the AWS
//! SDK only in `aws/`, reqwest only where HTTP is spoken, and no Lambda types in the library.
//!
//! The imports are read as text from `shared/src/**.rs`: `use` trees (groups over several
//! lines, `super::` and `self::` resolved against the module the line sits in, inline `mod`
//! blocks included) and paths written inline (`crate::x::y`, `aws_sdk_ssm::Client`). Comments
//! and string literals are not code. Every violation is printed as `file:line: rule`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// The core: the push path, the send core and what they decide with.
const CORE: &[&str] = &[
    "protocol",
    "rules",
    "knowledge",
    "policy",
    "receive",
    "send",
    "apps",
    "rule_cache",
    "job",
];
/// The adapters and the composition root: what the core must not know.
const ADAPTERS: &[&str] = &["aws", "memory", "wechat_api", "compose", "assets", "hooks"];
/// The adapters implement ports; the core above the ports is not theirs to import.
const ADAPTER_IMPLS: &[&str] = &["aws", "memory", "wechat_api", "assets", "hooks"];
const CORE_ABOVE_PORTS: &[&str] = &["receive", "send", "apps", "rule_cache"];

/// Where an external crate may be named: (what it is, whether a name is it, where it may be).
type CrateRule = (&'static str, fn(&str) -> bool, &'static [&'static str]);
const CRATE_RULES: &[CrateRule] = &[
    (
        "the AWS SDK",
        |name| name.starts_with("aws_sdk_") || name == "aws_config",
        &["aws/"],
    ),
    (
        "reqwest",
        |name| name == "reqwest",
        &["wechat_api/", "hooks/", "assets.rs", "tls.rs"],
    ),
    (
        "the Lambda runtime",
        |name| name.starts_with("lambda_") || name == "aws_lambda_events",
        &[],
    ),
];

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

// ---------------------------------------------------------------------------------------------
// Reading Rust as text.

/// One line of code with comments and the contents of string and char literals blanked out.
fn code_lines(source: &str) -> Vec<String> {
    #[derive(PartialEq)]
    enum State {
        Code,
        Block(usize),
        Str,
        RawStr(usize),
    }
    let mut state = State::Code;
    let mut lines = Vec::new();
    for line in source.lines() {
        let chars: Vec<char> = line.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            match state {
                State::Block(depth) => {
                    if c == '*' && next == Some('/') {
                        state = if depth == 1 {
                            State::Code
                        } else {
                            State::Block(depth - 1)
                        };
                        i += 2;
                    } else if c == '/' && next == Some('*') {
                        state = State::Block(depth + 1);
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                State::Str => {
                    if c == '\\' {
                        i += 2;
                    } else {
                        if c == '"' {
                            out.push('"');
                            state = State::Code;
                        }
                        i += 1;
                    }
                }
                State::RawStr(hashes) => {
                    if c == '"'
                        && chars[i + 1..]
                            .iter()
                            .take(hashes)
                            .filter(|&&h| h == '#')
                            .count()
                            == hashes
                    {
                        out.push('"');
                        state = State::Code;
                        i += 1 + hashes;
                    } else {
                        i += 1;
                    }
                }
                State::Code => {
                    let prev_ident = i > 0 && is_ident(chars[i - 1]);
                    if c == '/' && next == Some('/') {
                        break;
                    } else if c == '/' && next == Some('*') {
                        state = State::Block(1);
                        i += 2;
                    } else if c == '"' {
                        out.push('"');
                        state = State::Str;
                        i += 1;
                    } else if (c == 'r' || c == 'b')
                        && !prev_ident
                        && raw_start(&chars[i..]).is_some()
                    {
                        let (skip, hashes) = raw_start(&chars[i..]).unwrap();
                        out.push('"');
                        state = State::RawStr(hashes);
                        i += skip;
                    } else if c == '\'' {
                        // A char literal ('x', '\n', '\u{..}'), or a lifetime ('a).
                        if next == Some('\\') {
                            let end = chars[i + 2..].iter().position(|&q| q == '\'');
                            out.push_str("' '");
                            i += end.map_or(chars.len(), |end| end + 3);
                        } else if chars.get(i + 2) == Some(&'\'') {
                            out.push_str("' '");
                            i += 3;
                        } else {
                            out.push(c);
                            i += 1;
                        }
                    } else {
                        out.push(c);
                        i += 1;
                    }
                }
            }
        }
        lines.push(out);
    }
    lines
}

/// `r"`, `r#"`, `br##"`: how many characters open the literal, and its number of `#`.
fn raw_start(chars: &[char]) -> Option<(usize, usize)> {
    let mut i = usize::from(chars.first() == Some(&'b'));
    if chars.get(i) != Some(&'r') {
        return None;
    }
    i += 1;
    let hashes = chars[i..].iter().take_while(|&&c| c == '#').count();
    (chars.get(i + hashes) == Some(&'"')).then_some((i + hashes + 1, hashes))
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The paths a `use` tree names, each as its segments (`a::{b, c::d}` → `a::b`, `a::c::d`).
fn expand_use(tree: &str) -> Vec<Vec<String>> {
    // Renamings (`x as y`) dropped, then whitespace.
    let text = tree_text(tree);
    let mut tokens = tree_tokens(&text);
    let mut tree = String::new();
    while let Some(token) = tokens.next() {
        if token == "as" {
            if let Some(alias) = tokens.next() {
                tree.push_str(alias.trim_start_matches(is_ident));
            }
        } else {
            tree.push_str(token);
        }
    }
    let mut paths = Vec::new();
    expand_into(&tree, &[], &mut paths);
    paths
}

fn expand_into(tree: &str, prefix: &[String], paths: &mut Vec<Vec<String>>) {
    let tree = tree.trim_start_matches("::");
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = segments(&tree[..open]);
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut base = prefix.to_vec();
        base.extend(head);
        for part in split_top(inner) {
            if !part.is_empty() {
                expand_into(part, &base, paths);
            }
        }
    } else {
        let mut path = prefix.to_vec();
        path.extend(segments(tree));
        if path.last().is_some_and(|last| last == "self") {
            path.pop();
        }
        paths.push(path);
    }
}

/// The tree with space around its punctuation, so that `as` stands as a word of its own.
fn tree_text(tree: &str) -> String {
    tree.replace(',', " , ")
        .replace('{', " { ")
        .replace('}', " } ")
}

fn tree_tokens(text: &str) -> std::str::SplitWhitespace<'_> {
    text.split_whitespace()
}

/// `a::b::` → `["a", "b"]`.
fn segments(path: &str) -> Vec<String> {
    path.split("::")
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take_while(|&c| is_ident(c) || c == '*').collect())
        .collect()
}

/// The comma-separated items of a group, groups inside them kept whole.
fn split_top(group: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&group[start..]);
    parts
}

/// A path's target: a module of the crate (its top-level name) or an external crate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Module(String),
    Crate(String),
}

/// Resolves `segments`, written in module `module` (its path from the crate root).
fn resolve(module: &[String], segments: &[String]) -> Option<Target> {
    let first = segments.first()?;
    match first.as_str() {
        "crate" => segments.get(1).map(|m| Target::Module(m.clone())),
        "super" | "self" => {
            let mut at = module.to_vec();
            let mut rest = segments;
            while let Some(head) = rest.first() {
                match head.as_str() {
                    "super" => {
                        at.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
            match at.first() {
                Some(top) => Some(Target::Module(top.clone())),
                None => rest
                    .first()
                    .filter(|name| name.as_str() != "*")
                    .map(|name| Target::Module(name.clone())),
            }
        }
        "std" | "core" | "alloc" => None,
        // A child of the current module, or an external crate: the rules name external crates
        // only, so a name is taken for a crate when it is not a module of the file's own.
        name => Some(Target::Crate(name.to_owned())),
    }
}

/// One import: where it is written and what it names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Import {
    file: String,
    line: usize,
    /// The top-level module the line belongs to.
    from: String,
    target: Target,
}

/// The imports of one file, its path relative to `shared/src`.
fn imports_of(rel: &str, source: &str) -> Vec<Import> {
    let file_module: Vec<String> = {
        let mut parts: Vec<String> = rel
            .trim_end_matches(".rs")
            .split('/')
            .map(str::to_owned)
            .collect();
        if parts
            .last()
            .is_some_and(|last| last == "mod" || last == "lib")
        {
            parts.pop();
        }
        parts
    };
    let Some(from) = file_module.first().cloned() else {
        return Vec::new();
    };
    let lines = code_lines(source);
    let mut found = BTreeSet::new();
    let mut depth = 0usize;
    // Inline `mod name {` blocks: the name and the depth inside them.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut pending_use: Option<(usize, String)> = None;
    for (index, code) in lines.iter().enumerate() {
        let line = index + 1;
        let module: Vec<String> = file_module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(name, _)| name.clone()))
            .collect();
        let mut add = |line: usize, target: Option<Target>| {
            if let Some(target) = target {
                found.insert(Import {
                    file: format!("shared/src/{rel}"),
                    line,
                    from: from.clone(),
                    target,
                });
            }
        };
        // `use` statements, possibly over several lines.
        let statement = strip_item_prefix(code);
        if pending_use.is_none() && statement.starts_with("use ") {
            pending_use = Some((line, String::new()));
        }
        let in_use = pending_use.is_some();
        if let Some((start, text)) = pending_use.as_mut() {
            text.push_str(if text.is_empty() {
                &statement[4..]
            } else {
                code
            });
            text.push(' ');
            if let Some(end) = text.find(';') {
                for path in expand_use(&text[..end]) {
                    add(*start, resolve(&module, &path));
                }
                pending_use = None;
            }
        }
        if !in_use {
            for path in inline_paths(code) {
                add(line, resolve(&module, &path));
            }
        }
        // Braces and inline modules, after the line's paths are read.
        for (i, c) in code.char_indices() {
            match c {
                '{' => {
                    depth += 1;
                    let before: Vec<&str> = code[..i].split_whitespace().collect();
                    if let [.., "mod", name] = before.as_slice() {
                        inline.push(((*name).to_owned(), depth));
                    }
                }
                '}' => {
                    if inline.last().is_some_and(|(_, d)| *d == depth) {
                        inline.pop();
                    }
                    depth = depth.saturating_sub(1);
                }
                _ => {}
            }
        }
    }
    found.into_iter().collect()
}

/// A line without its attributes and visibility: `#[cfg(test)] pub(crate) use x;` → `use x;`.
fn strip_item_prefix(code: &str) -> &str {
    let mut rest = code.trim_start();
    loop {
        if rest.starts_with("#[") {
            match rest.find(']') {
                Some(end) => rest = rest[end + 1..].trim_start(),
                None => return rest,
            }
        } else if let Some(after) = rest.strip_prefix("pub(") {
            match after.find(')') {
                Some(end) => rest = after[end + 1..].trim_start(),
                None => return rest,
            }
        } else if let Some(after) = rest.strip_prefix("pub ") {
            rest = after.trim_start();
        } else {
            return rest;
        }
    }
}

/// Paths written in code: `crate::a::b`, `super::x`, `aws_sdk_ssm::Client` (the segments up to
/// the first that is not followed by `::`).
fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut paths = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_word =
            is_ident(chars[i]) && (i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == '$'));
        let after_colons = i >= 2 && chars[i - 1] == ':' && chars[i - 2] == ':';
        if !starts_word || after_colons {
            i += 1;
            continue;
        }
        let mut path = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < chars.len() && is_ident(chars[j]) {
                j += 1;
            }
            path.push(chars[start..j].iter().collect::<String>());
            if chars.get(j) == Some(&':')
                && chars.get(j + 1) == Some(&':')
                && chars.get(j + 2).is_some_and(|&c| is_ident(c))
            {
                j += 2;
            } else {
                break;
            }
        }
        if path.len() > 1 {
            paths.push(path);
        }
        i = j.max(i + 1);
    }
    paths
}

// ---------------------------------------------------------------------------------------------
// The rules.

/// lib.rs: the modules it declares, and its layer table from the top row down.
fn lib_layers() -> (Vec<String>, Vec<(String, Vec<String>)>) {
    let lib = fs::read_to_string(shared().join("src/lib.rs")).expect("shared/src/lib.rs reads");
    let modules: Vec<String> = lib
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub mod "))
        .map(|name| name.trim_end_matches(';').to_owned())
        .collect();
    let mut rows = Vec::new();
    for line in lib.lines() {
        let Some(row) = line.strip_prefix("//! |") else {
            continue;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (Some(layer), Some(names)) = (cells.first(), cells.get(1)) else {
            continue;
        };
        let in_row: Vec<String> = names
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|name| modules.iter().any(|m| m == name))
            .map(str::to_owned)
            .collect();
        if !in_row.is_empty() {
            rows.push(((*layer).to_owned(), in_row));
        }
    }
    (modules, rows)
}

fn rust_files(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .expect("shared/src reads")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, root, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let rel = path
                .strip_prefix(root)
                .expect("under shared/src")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, fs::read_to_string(&path).expect("a source file reads")));
        }
    }
}

/// One violation: where (`file:line`, or the file), and the rule it breaks.
struct Violation {
    at: String,
    file: String,
    rule: String,
}

impl Violation {
    fn new(file: &str, line: Option<usize>, rule: String) -> Self {
        Self {
            at: line.map_or_else(|| file.to_owned(), |line| format!("{file}:{line}")),
            file: file.to_owned(),
            rule,
        }
    }

    /// `file: rule`, the line left out.
    fn key(&self) -> String {
        format!("{}: {}", self.file, self.rule)
    }
}

fn violations() -> Vec<Violation> {
    let src = shared().join("src");
    let mut files = Vec::new();
    rust_files(&src, &src, &mut files);
    let (modules, rows) = lib_layers();
    let mut found = Vec::new();

    // The table names every module once; its rows are ranked from the bottom (0) up.
    let mut rank: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for (i, (layer, names)) in rows.iter().enumerate() {
        for name in names {
            if let Some((_, other)) = rank.insert(name, (rows.len() - i, layer)) {
                found.push(Violation::new(
                    "shared/src/lib.rs",
                    None,
                    format!("`{name}` sits in two layers ({other}, {layer})"),
                ));
            }
        }
    }
    for module in &modules {
        if !rank.contains_key(module.as_str()) {
            found.push(Violation::new(
                "shared/src/lib.rs",
                None,
                format!("`{module}` is in no layer of the table"),
            ));
        }
    }

    for (rel, source) in &files {
        for import in imports_of(rel, source) {
            let mut flag = |rule: String| {
                found.push(Violation::new(&import.file, Some(import.line), rule));
            };
            let from = import.from.as_str();
            match &import.target {
                Target::Module(to) if to != from && modules.contains(to) => {
                    if let (Some((own, own_layer)), Some((theirs, their_layer))) =
                        (rank.get(from), rank.get(to.as_str()))
                        && theirs > own
                    {
                        flag(format!(
                            "`{from}` ({own_layer}) imports `{to}` ({their_layer}), a layer above its own (lib.rs: each layer imports only its own and those below)"
                        ));
                    }
                    if CORE.contains(&from) && ADAPTERS.contains(&to.as_str()) {
                        flag(format!("the core (`{from}`) imports the adapter `{to}`"));
                    }
                    if ADAPTER_IMPLS.contains(&from) && CORE_ABOVE_PORTS.contains(&to.as_str()) {
                        flag(format!(
                            "the adapter `{from}` imports the core (`{to}`): what they share belongs to the ports or the pure policy"
                        ));
                    }
                }
                Target::Module(_) => {}
                Target::Crate(name) => {
                    for (what, is, allowed) in CRATE_RULES {
                        if is(name) && !allowed.iter().any(|place| rel.starts_with(place)) {
                            let places = if allowed.is_empty() {
                                "nowhere in the library".to_owned()
                            } else {
                                format!("only in {}", allowed.join(", "))
                            };
                            flag(format!(
                                "{what} (`{name}`) is named in `{from}`, and belongs {places}"
                            ));
                        }
                    }
                }
            }
        }
    }

    // No Lambda crate among the library's dependencies either.
    let manifest =
        fs::read_to_string(shared().join("Cargo.toml")).expect("shared/Cargo.toml reads");
    for (i, line) in manifest.lines().enumerate() {
        let name = line
            .split(['=', '.', ' '])
            .next()
            .unwrap_or("")
            .replace('-', "_");
        if CRATE_RULES[2].1(&name) {
            found.push(Violation::new(
                "shared/Cargo.toml",
                Some(i + 1),
                format!("the Lambda runtime (`{name}`) is a dependency of the library"),
            ));
        }
    }
    found
}

/// Violations known and not yet mended, as `file: rule` (the line left out, so that edits
/// elsewhere in the file do not move them), each with why it is left. The check fails on any
/// other violation; one of these that is gone is reported, to be struck here.
const LEFT: &[(&str, &str)] = &[];

#[test]
fn the_library_keeps_its_layers() {
    let found = violations();
    let mut report = String::new();
    let mut seen = BTreeSet::new();
    for violation in &found {
        let key = violation.key();
        let known = LEFT.iter().find(|(left, _)| key.starts_with(left));
        match known {
            Some((left, _)) => {
                seen.insert(*left);
            }
            None => {
                let _ = writeln!(report, "{}: {}", violation.at, violation.rule);
            }
        }
    }
    for (left, why) in LEFT {
        if !seen.contains(left) {
            eprintln!("mended: {left} (it was left: {why}): strike it from LEFT");
        }
    }
    for violation in &found {
        let key = violation.key();
        if LEFT.iter().any(|(left, _)| key.starts_with(left)) {
            eprintln!("left: {}: {}", violation.at, violation.rule);
        }
    }
    assert!(
        report.is_empty(),
        "the layers, held against the imports:\n{report}"
    );
}

// ---------------------------------------------------------------------------------------------
// The reader itself.

fn targets(rel: &str, source: &str) -> Vec<(usize, Target)> {
    imports_of(rel, source)
        .into_iter()
        .map(|import| (import.line, import.target))
        .collect()
}

fn module(name: &str) -> Target {
    Target::Module(name.to_owned())
}

#[test]
fn use_groups_over_several_lines_are_read_at_their_first_line() {
    let source = "use crate::ports::{\n    Clock, PortError,\n};\nuse crate::{job::Job, rules::{A, B}};\npub(crate) use aws_sdk_ssm::Client as Ssm;\n";
    assert_eq!(
        targets("send/mod.rs", source),
        vec![
            (1, module("ports")),
            (4, module("job")),
            (4, module("rules")),
            (5, Target::Crate("aws_sdk_ssm".to_owned())),
        ]
    );
}

#[test]
fn super_resolves_against_the_module_the_line_sits_in() {
    let source = "use super::budget;\nmod tests {\n    use super::*;\n    fn f() { super::super::x::y(); }\n}\nfn g() { super::z::w(); }\n";
    assert_eq!(
        targets("send/sequence.rs", source),
        vec![
            (1, module("send")),
            (3, module("send")),
            (4, module("send")),
            (6, module("send"))
        ]
    );
    // One level down from the root, `super::` is the crate.
    let source = "use super::wechat_api::DEFAULT;\nmod tests {\n    use super::*;\n}\n";
    assert_eq!(
        targets("config.rs", source),
        vec![(1, module("wechat_api")), (3, module("config"))]
    );
}

#[test]
fn inline_paths_count_and_comments_and_strings_do_not() {
    let source = "// use crate::aws::X;\n/// [`crate::memory`]\nlet x = \"crate::aws::y\"; let c = '{';\nlet r = r#\"reqwest::get\"#;\nlet t = crate::tls::http_client_builder(); let h: reqwest::Client;\n/* crate::compose\n crate::compose */ fn a<'a>(x: &'a str) {}\n";
    assert_eq!(
        targets("assets.rs", source),
        vec![(5, module("tls")), (5, Target::Crate("reqwest".to_owned()))]
    );
}
