//! How this package's binaries reach DuckDB, set by `scripts/cargo`:
//! - `lazy` (the default): `DUCKDB_STATIC` with `DUCKDB_LIB_DIR` at the stand-in archive of
//!   `scripts/libduckdb-lazy`, which loads the prebuilt libduckdb.so by its absolute path on first use;
//!   no rpath is needed.
//! - `shared`: a `DUCKDB_LIB_DIR` of your own, linked directly; its directory is baked into the rpath
//!   so `regstat` runs without LD_LIBRARY_PATH.
//! - `bundled`: DuckDB compiled in; nothing to do.
//!
//! `REGSTAT_DUCKDB_LINK` tells the tests which, so that they check what this build promises.
//!
//! With `lazy`, the C++ runtime is linked statically as well: see [`link_cxx_runtime_statically`].
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
    if link == "lazy" {
        link_cxx_runtime_statically();
    }
}

/// unrar (C++, for RAR archives) asks for the C++ runtime by name (`#[link(name = "stdc++")]`), which
/// the linker reads as libstdc++.so: loading and relocating it cost every `regstat` process about
/// 0.5 ms (perf stat: 1.10 against 1.60 ms for a C program with and without it), more than a small
/// `regstat extract` spends reading its workbook. A directory holding only libstdc++.a, searched
/// before the compiler's own, makes that same `-lstdc++` take the archive, as g++'s
/// `-static-libstdc++` would. Only with the lazy DuckDB: libduckdb.so, when it is loaded, brings its
/// own libstdc++.so and binds to it, since an executable exports no symbols of an archive to a library
/// it was not linked with; linked directly (`shared`), the library would bind to the executable's
/// partial copy instead. Where the compiler has no libstdc++.a, or a PIE program does not link with
/// it, the shared runtime stays.
fn link_cxx_runtime_statically() {
    use std::path::PathBuf;
    println!("cargo:rerun-if-env-changed=CXX");
    let compiler = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let printed = std::process::Command::new(&compiler)
        .arg("-print-file-name=libstdc++.a")
        .output();
    let archive = match printed {
        Ok(out) if out.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
        _ => PathBuf::new(),
    };
    // The compiler prints the bare name back when it has no such file.
    if !archive.is_absolute() || !archive.is_file() {
        println!("cargo:warning=no libstdc++.a from `{compiler} -print-file-name`: the C++ runtime is linked as libstdc++.so");
        return;
    }
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        return;
    };
    let out_dir = PathBuf::from(out_dir);
    // Some toolchains ship a libstdc++.a that a position-independent executable cannot take: a
    // small program that throws and catches is linked with it first, and a failure keeps the
    // shared runtime rather than failing the build.
    let probe = out_dir.join("static-cxx-probe.cc");
    let probed = std::fs::write(
        &probe,
        "#include <stdexcept>\n#include <string>\nint main() { try { throw std::runtime_error(std::string(\"x\")); } catch (const std::exception &) {} }\n",
    )
    .and_then(|()| {
        std::process::Command::new(&compiler)
            .arg(&probe)
            .args(["-fPIE", "-pie", "-static-libstdc++", "-o"])
            .arg(out_dir.join("static-cxx-probe"))
            .output()
    });
    match probed {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            let why = String::from_utf8_lossy(&out.stderr);
            let why = why.lines().next().unwrap_or("");
            println!("cargo:warning=a PIE program does not link with {}: {why}; the C++ runtime is linked as libstdc++.so", archive.display());
            return;
        }
        Err(e) => {
            println!("cargo:warning=cannot try linking with {}: {e}; the C++ runtime is linked as libstdc++.so", archive.display());
            return;
        }
    }
    let dir = out_dir.join("static-cxx");
    let link = dir.join("libstdc++.a");
    let linked = std::fs::create_dir_all(&dir)
        .and_then(|()| match std::fs::remove_file(&link) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .and_then(|()| {
            #[cfg(unix)]
            return std::os::unix::fs::symlink(&archive, &link);
            #[cfg(not(unix))]
            return std::fs::copy(&archive, &link).map(|_| ());
        });
    match linked {
        Ok(()) => println!("cargo:rustc-link-search=native={}", dir.display()),
        Err(e) => println!(
            "cargo:warning=cannot link {} into {}: {e}; the C++ runtime is linked as libstdc++.so",
            archive.display(),
            dir.display()
        ),
    }
}
