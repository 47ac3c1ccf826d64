//! Embeds the migrations: writes `$OUT_DIR/migrations.rs`, a list of every
//! `migrations/<backend>/*.sql` file's name and text (`include_str!`),
//! which `db.rs` turns into sqlx migrations. This does by hand what
//! `sqlx::migrate!` does, because that macro needs sqlx's `macros`
//! feature, whose proc-macro crate compiles sqlx's PostgreSQL and SQLite
//! drivers, and SQLite's C, a second time for the host on every cold
//! build.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // A directory: Cargo reruns this when any file under it changes, is
    // added or removed.
    println!("cargo:rerun-if-changed=migrations");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut code = String::new();
    for (backend, name) in [("sqlite", "SQLITE"), ("postgres", "POSTGRES")] {
        let dir = root.join(backend);
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|entry| {
                let entry = entry.unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
                entry.file_name().into_string().unwrap_or_else(|name| {
                    panic!("{}: a file name that is not UTF-8: {name:?}", dir.display())
                })
            })
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        writeln!(code, "pub(crate) const {name}: &[(&str, &str)] = &[").unwrap();
        for file in files {
            let path = dir.join(&file);
            writeln!(code, "    ({file:?}, include_str!({:?})),", path.display()).unwrap();
        }
        writeln!(code, "];").unwrap();
    }
    let out =
        Path::new(&std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("migrations.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}
