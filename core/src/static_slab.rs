//! A static array handed out once: the storage a root task sizes at build time (bootstrap
//! metadata, a self-test's tables) without `static mut` and without the risk of aliasing it.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, Ordering};

/// `N` values of `T` in a `static`, lent for good to the first caller of [`Self::take`].
pub struct StaticSlab<T, const N: usize> {
    taken: AtomicBool,
    cell: UnsafeCell<MaybeUninit<[T; N]>>,
}

// SAFETY: the cell is reached only through `take`, which hands it out at most once, so no two
// threads ever hold references to it; moving the `T`s to that one holder needs `T: Send`.
unsafe impl<T: Send, const N: usize> Sync for StaticSlab<T, N> {}

impl<T, const N: usize> StaticSlab<T, N> {
    pub const fn new() -> Self {
        StaticSlab { taken: AtomicBool::new(false), cell: UnsafeCell::new(MaybeUninit::uninit()) }
    }

    /// The array, every element set to `fill`, on the first call; `None` after that.
    pub fn take(&'static self, fill: T) -> Option<&'static mut [T]>
    where
        T: Copy,
    {
        self.take_with(|| fill)
    }

    /// The array, element `i` set to the `i`-th value of `fill`, on the first call; `None`
    /// after that.
    pub fn take_with(&'static self, mut fill: impl FnMut() -> T) -> Option<&'static mut [T]> {
        if self.taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        let p = self.cell.get() as *mut T;
        for i in 0..N {
            // SAFETY: i < N, inside the cell; writing initialises without reading, and no
            // reference to the cell exists yet (`taken` was false until this call).
            unsafe { p.add(i).write(fill()) };
        }
        // SAFETY: all N elements are initialised, and this is the only reference ever made to
        // the cell: `taken` stays true for good.
        Some(unsafe { core::slice::from_raw_parts_mut(p, N) })
    }
}

impl<T, const N: usize> Default for StaticSlab<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taken_once() {
        static S: StaticSlab<u32, 4> = StaticSlab::new();
        let a = S.take(7).unwrap();
        assert_eq!(a, &[7, 7, 7, 7]);
        a[1] = 3;
        assert!(S.take(0).is_none());
        assert_eq!(a[1], 3);
    }
}
