//! Fixed-capacity slab of records addressed by generation-checked
//! [`ObjectId`]s (index in the low 32 bits, generation in the high 32), so a
//! stale or forged handle is refused instead of naming a reused record.

use crate::strategy::ObjectId;

const NIL: u32 = u32::MAX;

/// One slot of a [`Slab`] (initialise storage with [`Entry::EMPTY`]).
#[derive(Copy, Clone, Debug)]
pub struct Entry<T> {
    gen: u32,
    next_free: u32,
    val: Option<T>,
}

impl<T> Entry<T> {
    pub const EMPTY: Entry<T> = Entry { gen: 0, next_free: NIL, val: None };
}

pub struct Slab<'s, T> {
    e: &'s mut [Entry<T>],
    free: u32,
    len: usize,
}

impl<'s, T> Slab<'s, T> {
    /// A slab over `storage` (at most `u32::MAX - 1` entries are used).
    pub fn new(storage: &'s mut [Entry<T>]) -> Self {
        let n = storage.len().min(NIL as usize - 1);
        for (i, x) in storage.iter_mut().enumerate() {
            x.val = None;
            x.next_free = if i + 1 < n { i as u32 + 1 } else { NIL };
        }
        Slab { e: storage, free: if n > 0 { 0 } else { NIL }, len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.e.len()
    }

    /// Store `v`; `None` when full.
    pub fn insert(&mut self, v: T) -> Option<u32> {
        let i = self.free;
        if i == NIL {
            return None;
        }
        let x = &mut self.e[i as usize];
        self.free = x.next_free;
        x.val = Some(v);
        self.len += 1;
        Some(i)
    }

    pub fn handle(&self, i: u32) -> ObjectId {
        ObjectId(u64::from(self.e[i as usize].gen) << 32 | u64::from(i))
    }

    /// Index named by a handle, if it is live and of the current generation.
    pub fn index(&self, h: ObjectId) -> Option<u32> {
        let i = (h.0 & 0xffff_ffff) as u32;
        let x = self.e.get(i as usize)?;
        (x.val.is_some() && u64::from(x.gen) == h.0 >> 32).then_some(i)
    }

    pub fn get(&self, i: u32) -> Option<&T> {
        self.e.get(i as usize)?.val.as_ref()
    }

    pub fn get_mut(&mut self, i: u32) -> Option<&mut T> {
        self.e.get_mut(i as usize)?.val.as_mut()
    }

    /// Remove the record at `i`; its handles become stale.
    pub fn remove(&mut self, i: u32) -> Option<T> {
        let x = self.e.get_mut(i as usize)?;
        let v = x.val.take()?;
        x.gen = x.gen.wrapping_add(1);
        x.next_free = self.free;
        self.free = i;
        self.len -= 1;
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_go_stale_and_capacity_is_enforced() {
        let mut st = [Entry::EMPTY; 2];
        let mut s = Slab::new(&mut st);
        let a = s.insert(10u32).unwrap();
        let b = s.insert(20).unwrap();
        assert_eq!(s.insert(30), None);
        let ha = s.handle(a);
        assert_eq!(s.index(ha), Some(a));
        assert_eq!(s.remove(a), Some(10));
        assert_eq!(s.index(ha), None, "stale handle");
        let c = s.insert(40).unwrap();
        assert_eq!(c, a, "slot reused");
        assert_eq!(s.index(ha), None, "old generation still refused");
        assert_eq!(s.get(b), Some(&20));
        assert_eq!(s.index(ObjectId(u64::from(u32::MAX))), None);
        assert_eq!(s.len(), 2);
    }
}
