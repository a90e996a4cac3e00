//! Placeholder for the set type; replaced by its real encodings (see the data types issue).

use std::borrow::Cow;

#[derive(Clone, Debug, Default)]
pub struct Set {
    items: Vec<Vec<u8>>,
}

impl Set {
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

impl Set {
    /// Members, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, [u8]>> + '_ {
        self.items.iter().map(|i| Cow::Borrowed(i.as_slice()))
    }
}
