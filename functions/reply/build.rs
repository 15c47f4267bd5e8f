//! Ships the images of `assets/` inside the `reply` binary: `sam build` copies only the
//! bootstrap into the deployment, so a file beside it would never reach Lambda. Writes
//! `$OUT_DIR/shipped_assets.rs`, a table of `(name, include_bytes!(…))` sorted by name, where a
//! name is the path under `assets/` with `/` between folders (as rules write `{"file": …}`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs, io};

fn main() -> io::Result<()> {
    let manifest = PathBuf::from(
        env::var_os("CARGO_MANIFEST_DIR").ok_or_else(|| missing("CARGO_MANIFEST_DIR"))?,
    );
    let out = PathBuf::from(env::var_os("OUT_DIR").ok_or_else(|| missing("OUT_DIR"))?);
    let assets = manifest.join("assets");
    println!("cargo::rerun-if-changed={}", assets.display());

    let mut files = Vec::new();
    if assets.is_dir() {
        collect(&assets, &assets, &mut files)?;
    }
    files.sort();

    let mut table = String::from(
        "/// The images of `functions/reply/assets/`, as built: (name, bytes), sorted by name.\n\
         pub static SHIPPED_ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &files {
        // Debug formatting gives valid, escaped Rust string literals.
        let _ = writeln!(
            table,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    table.push_str("];\n");
    fs::write(out.join("shipped_assets.rs"), table)
}

/// Every file under `dir`, named by its path relative to `root` with `/` separators.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
    // Folders are watched too, so that a new file (or a removed one) rebuilds the table.
    println!("cargo::rerun-if-changed={}", dir.display());
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
            continue;
        }
        let relative = path.strip_prefix(root).map_err(io::Error::other)?;
        let parts: Option<Vec<&str>> = relative.iter().map(|part| part.to_str()).collect();
        let name = parts.map(|parts| parts.join("/")).ok_or_else(|| {
            io::Error::other(format!("{}: asset names must be UTF-8", path.display()))
        })?;
        if path
            .file_name()
            .is_some_and(|f| f.to_string_lossy().starts_with('.'))
        {
            continue; // .gitkeep and editor files are not images
        }
        println!("cargo::rerun-if-changed={}", path.display());
        files.push((name, path));
    }
    Ok(())
}

fn missing(name: &str) -> io::Error {
    io::Error::other(format!("{name} is not set (run through cargo)"))
}
