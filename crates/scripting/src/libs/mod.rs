//! The libraries Redis makes available to scripts, each registered as a global table.
