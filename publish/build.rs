//! Bakes the directory of the prebuilt libduckdb.so into the rpath of this package's binaries and tests,
//! so `regstat` runs without LD_LIBRARY_PATH. Nothing to do for `bundled` builds.
fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    if let Ok(dir) = std::env::var("DUCKDB_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
