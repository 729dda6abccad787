//! The `regstat` application: the job that runs ingest -> transform -> warehouse -> estimate ->
//! publish ([`pipeline`]), the offline demonstration ([`demo`]) and the scheduler ([`daemon`]).

pub mod daemon;
pub mod demo;
pub mod estimate_cmd;
pub mod extract_cmd;
pub mod locks;
pub mod metrics;
pub mod pipeline;
