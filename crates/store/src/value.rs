//! Keys and values in compact forms: short byte strings live inline, integers as integers.

use std::borrow::Borrow;
use std::hash::{Hash as StdHash, Hasher};

use crate::hash::Hash;
use crate::list::List;
use crate::set::Set;
use crate::stream::Stream;
use crate::zset::ZSet;

const KEY_INLINE: usize = 22;
const STR_INLINE: usize = 22;

/// A key: up to 22 bytes inline (no allocation), longer ones in one exact-size heap block.
#[derive(Clone)]
pub enum Key {
    Inline { len: u8, bytes: [u8; KEY_INLINE] },
    Heap(Box<[u8]>),
}

impl Key {
    pub fn new(b: &[u8]) -> Key {
        if b.len() <= KEY_INLINE {
            let mut bytes = [0u8; KEY_INLINE];
            bytes[..b.len()].copy_from_slice(b);
            Key::Inline { len: b.len() as u8, bytes }
        } else {
            Key::Heap(b.into())
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..*len as usize],
            Key::Heap(b) => b,
        }
    }

    /// Heap bytes owned beyond the key's own slot.
    pub fn heap_size(&self) -> usize {
        match self {
            Key::Inline { .. } => 0,
            Key::Heap(b) => b.len(),
        }
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl StdHash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// A string value in 24 bytes. Redis's encodings map onto these: `int`, `embstr` (inline or a
/// short boxed string), `raw` (long, or modified in place by APPEND/SETRANGE, which keep spare
/// capacity behind one more pointer so that the common forms stay small).
#[derive(Clone, Debug)]
pub enum StrValue {
    Int(i64),
    Inline { len: u8, bytes: [u8; STR_INLINE] },
    Boxed(Box<[u8]>),
    Raw(Box<Vec<u8>>),
}

/// The integer a string spells in canonical decimal form (no sign on zero, no leading zeros,
/// '+' or spaces), the rule Redis uses for what it stores as an integer in strings, list
/// entries and intsets. None for anything else.
pub fn canonical_int(b: &[u8]) -> Option<i64> {
    // Only strings whose integer form prints back identically may become integers.
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let (neg, digits) = if b[0] == b'-' { (true, &b[1..]) } else { (false, b) };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: i128 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as i128;
    }
    let v = if neg { -v } else { v };
    i64::try_from(v).ok()
}

impl StrValue {
    pub fn from_bytes(b: &[u8]) -> StrValue {
        if let Some(i) = canonical_int(b) {
            return StrValue::Int(i);
        }
        Self::raw(b)
    }

    /// Stores the bytes as given, never as an integer (what APPEND/SETRANGE results keep).
    pub fn raw(b: &[u8]) -> StrValue {
        if b.len() <= STR_INLINE {
            let mut bytes = [0u8; STR_INLINE];
            bytes[..b.len()].copy_from_slice(b);
            StrValue::Inline { len: b.len() as u8, bytes }
        } else {
            StrValue::Boxed(b.into())
        }
    }

    pub fn from_vec(v: Vec<u8>) -> StrValue {
        if let Some(i) = canonical_int(&v) {
            return StrValue::Int(i);
        }
        if v.len() <= STR_INLINE {
            Self::raw(&v)
        } else {
            StrValue::Boxed(v.into_boxed_slice())
        }
    }

    /// The bytes; integers are formatted into `scratch`.
    pub fn bytes<'a>(&'a self, scratch: &'a mut [u8; 20]) -> &'a [u8] {
        match self {
            StrValue::Int(i) => {
                let mut n = i.unsigned_abs();
                let mut pos = scratch.len();
                loop {
                    pos -= 1;
                    scratch[pos] = b'0' + (n % 10) as u8;
                    n /= 10;
                    if n == 0 {
                        break;
                    }
                }
                if *i < 0 {
                    pos -= 1;
                    scratch[pos] = b'-';
                }
                &scratch[pos..]
            }
            StrValue::Inline { len, bytes } => &bytes[..*len as usize],
            StrValue::Boxed(b) => b,
            StrValue::Raw(v) => v,
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut scratch = [0u8; 20];
        self.bytes(&mut scratch).to_vec()
    }

    pub fn len(&self) -> usize {
        let mut scratch = [0u8; 20];
        self.bytes(&mut scratch).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as an integer if its bytes are one, as Redis's string-to-long-long rules say.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            StrValue::Int(i) => Some(*i),
            other => {
                let mut scratch = [0u8; 20];
                canonical_int(other.bytes(&mut scratch))
            }
        }
    }

    /// Turns the value into a growable byte vector in place, for APPEND and SETRANGE.
    pub fn make_mut(&mut self) -> &mut Vec<u8> {
        if !matches!(self, StrValue::Raw(_)) {
            *self = StrValue::Raw(Box::new(self.to_vec()));
        }
        match self {
            StrValue::Raw(v) => v,
            _ => unreachable!("converted to Raw above"),
        }
    }

    /// Redis's OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self {
            StrValue::Int(_) => "int",
            // Redis calls strings of up to 44 bytes embstr; the longer heap ones are raw.
            StrValue::Inline { .. } => "embstr",
            StrValue::Boxed(b) if b.len() <= 44 => "embstr",
            StrValue::Boxed(_) | StrValue::Raw(_) => "raw",
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            StrValue::Boxed(b) => b.len(),
            StrValue::Raw(v) => v.capacity() + std::mem::size_of::<Vec<u8>>(),
            _ => 0,
        }
    }
}

/// A stored value. Each data type is one variant; aggregates are boxed so that every value, and
/// so every entry, stays small.
#[derive(Clone, Debug)]
pub enum Value {
    Str(StrValue),
    List(Box<List>),
    /// Inline rather than boxed: a hash's handle is 16 bytes, and most keys of a hash-heavy
    /// dataset are small hashes, for which one allocation less is a fifth of their memory.
    Hash(Hash),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
    Stream(Box<Stream>),
}

impl Value {
    /// TYPE's answer.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// OBJECT ENCODING's answer, in Redis's names.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }

    /// Bytes the value owns on the heap.
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
            Value::List(l) => std::mem::size_of::<List>() + l.heap_size(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(s) => std::mem::size_of::<Set>() + s.heap_size(),
            Value::ZSet(z) => std::mem::size_of::<ZSet>() + z.heap_size(),
            Value::Stream(s) => std::mem::size_of::<Stream>() + s.heap_size(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_only_when_canonical() {
        assert!(matches!(StrValue::from_bytes(b"123"), StrValue::Int(123)));
        assert!(matches!(StrValue::from_bytes(b"-5"), StrValue::Int(-5)));
        assert!(matches!(StrValue::from_bytes(b"0"), StrValue::Int(0)));
        assert!(!matches!(StrValue::from_bytes(b"0123"), StrValue::Int(_)));
        assert!(!matches!(StrValue::from_bytes(b"-0"), StrValue::Int(_)));
        assert!(!matches!(StrValue::from_bytes(b"+1"), StrValue::Int(_)));
        assert!(!matches!(StrValue::from_bytes(b"9223372036854775808"), StrValue::Int(_)));
        let mut s = [0u8; 20];
        assert_eq!(StrValue::Int(i64::MIN).bytes(&mut s), b"-9223372036854775808");
    }

    #[test]
    fn sizes_stay_compact() {
        assert_eq!(std::mem::size_of::<Key>(), 24);
        assert_eq!(std::mem::size_of::<StrValue>(), 24);
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<crate::Entry>(), 32);
    }
}
