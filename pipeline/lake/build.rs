//! Embeds every schema file of `schemas/` into the crate, so that adding a table is adding
//! its file and nothing else.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("schemas/ is readable")
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            name.strip_suffix(".toml").map(str::to_owned)
        })
        .collect();
    names.sort();

    let mut out = String::from("/// Every schema file, as (table name, file text).\n");
    out.push_str("pub const SCHEMA_FILES: &[(&str, &str)] = &[\n");
    for name in &names {
        let path = dir.join(format!("{name}.toml"));
        println!("cargo:rerun-if-changed={}", path.display());
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR is set")).join("schemas.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");
}
