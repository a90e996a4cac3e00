//! RESP2/RESP3 framing: incremental request parsing and reply encoding.
//!
//! Owns: the wire format, its limits (bulk length, multibulk count, inline size), Redis's exact
//! protocol error texts, Redis Cluster's key -> hash slot function, which every client-side
//! piece (server, proxy, load generator) must compute identically, and C's `strtod` reading of
//! numbers (RDB blob scores, DEBUG arguments, cjson), which must agree wherever Redis uses it.
//! Never: sockets, the keyspace, or allocation per argument (arguments are spans of the read buffer).

mod number;
mod parse;
mod reply;
pub mod slot;
mod value;

pub use number::strtod_prefix;
pub use parse::{parse_i64, split_args, Args, Limits, OwnedArgs, ParseError, RequestParser};
pub use reply::{format_double, int_digits, uint_digits, write_int, ReplyBuf};
pub use value::{parse_reply, RespValue};
