//! Command errors, each carrying Redis's exact text, defined once.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    WrongType,
    NotInteger,
    NotFloat,
    Syntax,
    Overflow,
    NoSuchKey,
    OutOfRange,
    InvalidExpire(&'static str),
    DbIndexOutOfRange,
    NoAuth,
    WrongPass,
    NoPassword,
    UnknownSubcommand(String, String),
    WrongArity(String),
    /// Any other message: the whole line without the leading '-', prefix included.
    Msg(Cow<'static, str>),
}

impl CmdError {
    pub fn msg(text: impl Into<Cow<'static, str>>) -> CmdError {
        CmdError::Msg(text.into())
    }

    pub fn text(&self) -> Cow<'static, str> {
        match self {
            CmdError::WrongType => "WRONGTYPE Operation against a key holding the wrong kind of value".into(),
            CmdError::NotInteger => "ERR value is not an integer or out of range".into(),
            CmdError::NotFloat => "ERR value is not a valid float".into(),
            CmdError::Syntax => "ERR syntax error".into(),
            CmdError::Overflow => "ERR increment or decrement would overflow".into(),
            CmdError::NoSuchKey => "ERR no such key".into(),
            CmdError::OutOfRange => "ERR index out of range".into(),
            CmdError::InvalidExpire(cmd) => format!("ERR invalid expire time in '{cmd}' command").into(),
            CmdError::DbIndexOutOfRange => "ERR DB index is out of range".into(),
            CmdError::NoAuth => "NOAUTH Authentication required.".into(),
            CmdError::WrongPass => "WRONGPASS invalid username-password pair or user is disabled.".into(),
            CmdError::NoPassword => {
                "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?".into()
            }
            CmdError::UnknownSubcommand(sub, cmd) => {
                format!("ERR unknown subcommand '{sub}'. Try {cmd} HELP.").into()
            }
            CmdError::WrongArity(cmd) => format!("ERR wrong number of arguments for '{cmd}' command").into(),
            CmdError::Msg(m) => m.clone(),
        }
    }
}

pub type CmdResult = Result<(), CmdError>;
