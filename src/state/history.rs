//! A bounded history: the newest `capacity` values, oldest dropped first, so
//! memory stays flat over a twelve-hour window.

use std::collections::VecDeque;

#[derive(Clone, Debug, PartialEq)]
pub struct History<T> {
    items: VecDeque<T>,
    capacity: usize,
}

impl<T> History<T> {
    /// # Panics
    /// Never: a zero capacity is raised to one.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self { items: VecDeque::with_capacity(capacity.min(1024)), capacity }
    }

    pub fn push(&mut self, item: T) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    #[must_use]
    pub fn last(&self) -> Option<&T> {
        self.items.back()
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_newest_items() {
        let mut h = History::new(3);
        for i in 0..10 {
            h.push(i);
        }
        assert_eq!(h.len(), 3);
        assert_eq!(h.iter().copied().collect::<Vec<_>>(), vec![7, 8, 9]);
        assert_eq!(h.last(), Some(&9));
    }

    #[test]
    fn zero_capacity_still_holds_the_latest() {
        let mut h = History::new(0);
        h.push("a");
        h.push("b");
        assert_eq!(h.iter().copied().collect::<Vec<_>>(), vec!["b"]);
    }
}
