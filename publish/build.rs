//! With a `DUCKDB_LIB_DIR` of your own linked directly, bakes its directory into the rpath of this
//! package's test binaries so they run without LD_LIBRARY_PATH. Nothing to do for the default lazy
//! stand-in (`DUCKDB_STATIC`, see `scripts/libduckdb-lazy`) or for `bundled` builds.
fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    println!("cargo:rerun-if-env-changed=DUCKDB_STATIC");
    let statically = std::env::var("DUCKDB_STATIC").is_ok_and(|v| v != "0");
    if let (Ok(dir), false) = (std::env::var("DUCKDB_LIB_DIR"), statically) {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
