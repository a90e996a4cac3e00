//! Placeholder for the sorted set type; replaced by its real encodings (see the data types issue).

use std::borrow::Cow;

#[derive(Clone, Debug, Default)]
pub struct ZSet {
    items: Vec<(Vec<u8>, f64)>,
}

impl ZSet {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn encoding(&self) -> &'static str {
        "listpack"
    }

    pub fn heap_size(&self) -> usize {
        self.items.iter().map(|(m, _)| m.capacity() + 8).sum()
    }

    /// (member, score) pairs in score order.
    pub fn iter(&self) -> impl Iterator<Item = (Cow<'_, [u8]>, f64)> + '_ {
        self.items.iter().map(|(m, s)| (Cow::Borrowed(m.as_slice()), *s))
    }
}
