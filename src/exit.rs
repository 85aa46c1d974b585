//! Exit codes, fixed by the contract: 0 success or skipped, 1 failed, 2 usage error.

/// The run did what was asked, or rightly did nothing (skipped).
pub const SUCCESS: u8 = 0;
/// Something failed once the run had started.
pub const FAILED: u8 = 1;
/// A usage error caught before any work: unknown flag, missing input, malformed value.
pub const USAGE: u8 = 2;
