//! How this package's binaries reach DuckDB, set by `scripts/cargo`:
//! - `lazy` (the default): `DUCKDB_STATIC` with `DUCKDB_LIB_DIR` at the stand-in archive of
//!   `scripts/libduckdb-lazy`, which loads the prebuilt libduckdb.so by its absolute path on first use;
//!   no rpath is needed.
//! - `shared`: a `DUCKDB_LIB_DIR` of your own, linked directly; its directory is baked into the rpath
//!   so `regstat` runs without LD_LIBRARY_PATH.
//! - `bundled`: DuckDB compiled in; nothing to do.
//!
//! `REGSTAT_DUCKDB_LINK` tells the tests which, so that they check what this build promises.
fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    println!("cargo:rerun-if-env-changed=DUCKDB_STATIC");
    let statically = std::env::var("DUCKDB_STATIC").is_ok_and(|v| v != "0");
    let link = if std::env::var_os("CARGO_FEATURE_BUNDLED").is_some() {
        "bundled"
    } else if let Ok(dir) = std::env::var("DUCKDB_LIB_DIR") {
        if statically {
            "lazy"
        } else {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
            "shared"
        }
    } else {
        "shared"
    };
    println!("cargo:rustc-env=REGSTAT_DUCKDB_LINK={link}");
}
