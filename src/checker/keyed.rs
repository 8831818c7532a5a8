//! A map for small integer ids (producers, partitions): a vector lookup on the hot path, with a
//! tree for ids outside the dense range so a stray id cannot blow up memory.

use std::collections::BTreeMap;

const DENSE_KEYS: i64 = 4096;

#[derive(Debug)]
pub(crate) struct KeyedMap<T> {
    dense: Vec<Option<T>>,
    sparse: BTreeMap<i64, T>,
}

impl<T> Default for KeyedMap<T> {
    fn default() -> Self {
        KeyedMap { dense: Vec::new(), sparse: BTreeMap::new() }
    }
}

impl<T: Default> KeyedMap<T> {
    #[inline]
    pub fn entry(&mut self, key: i64) -> &mut T {
        if (0..DENSE_KEYS).contains(&key) {
            let index = key as usize;
            if index >= self.dense.len() {
                self.dense.resize_with(index + 1, || None);
            }
            self.dense[index].get_or_insert_with(T::default)
        } else {
            self.sparse.entry(key).or_default()
        }
    }
}

impl<T> KeyedMap<T> {
    #[inline]
    pub fn get(&self, key: i64) -> Option<&T> {
        if (0..DENSE_KEYS).contains(&key) {
            self.dense.get(key as usize).and_then(Option::as_ref)
        } else {
            self.sparse.get(&key)
        }
    }

    pub fn len(&self) -> usize {
        self.dense.iter().filter(|v| v.is_some()).count() + self.sparse.len()
    }

    /// In key order.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &T)> {
        let negative = self.sparse.range(..0).map(|(&k, v)| (k, v));
        let dense = self.dense.iter().enumerate().filter_map(|(k, v)| v.as_ref().map(|v| (k as i64, v)));
        let large = self.sparse.range(DENSE_KEYS..).map(|(&k, v)| (k, v));
        negative.chain(dense).chain(large)
    }

    /// In key order.
    pub fn into_entries(self) -> Vec<(i64, T)> {
        let mut entries: Vec<(i64, T)> = self
            .dense
            .into_iter()
            .enumerate()
            .filter_map(|(k, v)| v.map(|v| (k as i64, v)))
            .chain(self.sparse)
            .collect();
        entries.sort_by_key(|e| e.0);
        entries
    }
}
