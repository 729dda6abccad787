//! Whether DuckDB's library can be used, asked before the first DuckDB call of an operation.
//!
//! The default build links a stand-in that loads libduckdb.so on first use (`scripts/libduckdb-lazy`
//! says why), so a missing or foreign library is found when the warehouse opens rather than when
//! `regstat` starts. Asked here, it becomes an error naming the cause; a DuckDB call made without
//! asking would end the process with the same message. Builds that link DuckDB directly
//! (`bundled`, or a `DUCKDB_LIB_DIR` of your own) have nothing to check.

/// Why DuckDB's library could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot use DuckDB: {detail}; build with scripts/cargo, or set REGSTAT_LIBDUCKDB to the path of libduckdb.so")]
pub struct EngineUnavailable {
    pub detail: String,
}

#[cfg(duckdb_lazy)]
pub fn available() -> Result<(), EngineUnavailable> {
    extern "C" {
        // Defined by the stand-in archive that `scripts/libduckdb-lazy` writes.
        fn regstat_duckdb_load(message: *mut std::ffi::c_char, size: usize) -> std::ffi::c_int;
    }
    let mut message = [0 as std::ffi::c_char; 1024];
    // SAFETY: the buffer is writable for its length; the function writes a NUL-terminated
    // string of at most that many bytes and keeps no pointer to it.
    let status = unsafe { regstat_duckdb_load(message.as_mut_ptr(), message.len()) };
    if status == 0 {
        return Ok(());
    }
    // SAFETY: snprintf terminated the message within the buffer.
    let detail = unsafe { std::ffi::CStr::from_ptr(message.as_ptr()) };
    Err(EngineUnavailable {
        detail: detail.to_string_lossy().into_owned(),
    })
}

#[cfg(not(duckdb_lazy))]
pub fn available() -> Result<(), EngineUnavailable> {
    Ok(())
}
