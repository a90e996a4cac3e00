//! Placeholder for the hash type; replaced by its real encodings (see the data types issue).

use std::borrow::Cow;

#[derive(Clone, Debug, Default)]
pub struct Hash {
    items: Vec<Vec<u8>>,
}

impl Hash {
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
        self.items.iter().map(|i| i.capacity()).sum()
    }
}

impl Hash {
    /// (field, value) pairs, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Cow<'_, [u8]>, Cow<'_, [u8]>)> + '_ {
        self.items.chunks(2).map(|p| (Cow::Borrowed(p[0].as_slice()), Cow::Borrowed(p[1].as_slice())))
    }
}
