//! How this package reaches DuckDB, set by `scripts/cargo`: with `DUCKDB_STATIC` and the stand-in
//! archive of `scripts/libduckdb-lazy` (the default), `cfg(duckdb_lazy)` turns on the load check of
//! `engine.rs`; with a `DUCKDB_LIB_DIR` of your own linked directly, its directory is baked into the
//! rpath of this package's test binaries so they run without LD_LIBRARY_PATH. `bundled` builds need
//! neither.
fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    println!("cargo:rerun-if-env-changed=DUCKDB_STATIC");
    println!("cargo::rustc-check-cfg=cfg(duckdb_lazy)");
    if std::env::var_os("CARGO_FEATURE_BUNDLED").is_some() {
        return;
    }
    let statically = std::env::var("DUCKDB_STATIC").is_ok_and(|v| v != "0");
    match (std::env::var("DUCKDB_LIB_DIR"), statically) {
        (Ok(_), true) => println!("cargo:rustc-cfg=duckdb_lazy"),
        (Ok(dir), false) => println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}"),
        (Err(_), _) => {}
    }
}
