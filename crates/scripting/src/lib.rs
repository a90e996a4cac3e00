//! Lua 5.1 scripting as Redis 7 offers it: EVAL scripts, FUNCTION libraries, the `redis` API,
//! the sandbox and the libraries scripts expect (cjson, cmsgpack, bit, struct).
//!
//! Owns: the Lua VM, the conversions between Lua values and RESP2/RESP3 replies, the script cache
//! and the function-library registry.
//! Never: the keyspace, sockets or the command table. A script reaches the server only through
//! the [`Host`] the caller passes in, which runs commands and answers with RESP bytes.

pub mod libs;
