//! Baseline "buddy": user-level buddy splitting as seL4_libs allocman does
//! it (libsel4allocman/src/utspace/split.c), the answer seL4 users were
//! given for placing objects.
//!
//! Modelled on split.c:
//! * One free list per size (LIFO), separately for RAM and device memory;
//!   boot untypeds enter the list of their size in boot order.
//! * `_refill_pool`: when the list of the wanted size is empty, refill the
//!   next larger one (recursively) and split its first node with two
//!   retypes of one child untyped each (left half, then right half); the
//!   halves go to the front of the smaller list, left first.
//! * Objects are retyped from a node of exactly their own size.
//! * At an address (`allocman_utspace_alloc_at`): `find_head_for_paddr`
//!   scans every list linearly for a node covering the address, then the
//!   refill splits along the buddy path, checking each list linearly for a
//!   node that holds the address.
//! * Free: delete the object cap, then `_utspace_split_free`: if the buddy
//!   is free too, remove it from its list, delete both child untyped caps
//!   and free the parent the same way (eager coalescing; the parent, now
//!   childless, resets on its next retype). Otherwise the node goes back to
//!   the front of its list.

use crate::baselines::freeindex::{bits_of, SetupError};
use crate::baselines::slab::{Entry, Slab};
use crate::strategy::{AllocFailure, FreeError, ObjectId, Placed, Strategy};
use sel4_core::cap_space::{CapEntry, CapSpace};
use sel4_core::kernel::{Capacity, Kernel, Slot, UntypedDesc};
use sel4_core::object::{ObjectType, MAX_UNTYPED_BITS, MIN_UNTYPED_BITS};

const NIL: u32 = u32::MAX;
/// split.c refuses to refill beyond `wordBits - 2`.
const LISTS: usize = 62;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum State {
    /// On its free list.
    Free,
    /// An object was retyped from it (cap in `obj`).
    Allocated,
    /// Split into two child nodes.
    Split,
}

/// One untyped cap of the buddy tree (split.c `utspace_split_node`).
#[derive(Copy, Clone, Debug)]
pub struct Node {
    slot: Slot,
    paddr: u64,
    bits: u8,
    device: bool,
    parent: u32,
    sibling: u32,
    prev: u32,
    next: u32,
    state: State,
    obj: Slot,
}

pub struct Buddy<'s> {
    nodes: Slab<'s, Node>,
    ram: [u32; LISTS],
    dev: [u32; LISTS],
    caps: CapSpace<&'s mut [CapEntry]>,
}

impl<'s> Buddy<'s> {
    /// Boot untypeds enter the lists in `boot` order; `node_storage` bounds
    /// the number of untyped nodes (roots + split halves).
    pub fn new(
        boot: &[UntypedDesc],
        caps: CapSpace<&'s mut [CapEntry]>,
        node_storage: &'s mut [Entry<Node>],
    ) -> Result<Self, SetupError> {
        let mut b = Buddy { nodes: Slab::new(node_storage), ram: [NIL; LISTS], dev: [NIL; LISTS], caps };
        for u in boot {
            if usize::from(u.size_bits) >= LISTS {
                return Err(SetupError::Roots);
            }
            let n = Node {
                slot: u.slot,
                paddr: u.paddr,
                bits: u.size_bits,
                device: u.is_device,
                parent: NIL,
                sibling: NIL,
                prev: NIL,
                next: NIL,
                state: State::Free,
                obj: Slot(0),
            };
            let i = b.nodes.insert(n).ok_or(SetupError::Capacity)?;
            b.push(i);
        }
        Ok(b)
    }

    fn n(&self, i: u32) -> &Node {
        self.nodes.get(i).expect("buddy node index is live")
    }

    fn nm(&mut self, i: u32) -> &mut Node {
        self.nodes.get_mut(i).expect("buddy node index is live")
    }

    fn head(&mut self, device: bool, bits: u8) -> &mut u32 {
        if device {
            &mut self.dev[usize::from(bits)]
        } else {
            &mut self.ram[usize::from(bits)]
        }
    }

    /// split.c `_insert_node`: to the front of its list, marked free.
    fn push(&mut self, i: u32) {
        let (device, bits) = (self.n(i).device, self.n(i).bits);
        let h = *self.head(device, bits);
        {
            let n = self.nm(i);
            n.prev = NIL;
            n.next = h;
            n.state = State::Free;
        }
        if h != NIL {
            self.nm(h).prev = i;
        }
        *self.head(device, bits) = i;
    }

    /// split.c `_remove_node`.
    fn unlink(&mut self, i: u32, state: State) {
        let Node { prev, next, device, bits, .. } = *self.n(i);
        if prev != NIL {
            self.nm(prev).next = next;
        } else {
            *self.head(device, bits) = next;
        }
        if next != NIL {
            self.nm(next).prev = prev;
        }
        let n = self.nm(i);
        n.prev = NIL;
        n.next = NIL;
        n.state = state;
    }

    fn list(&self, device: bool, bits: u8) -> u32 {
        if device {
            self.dev[usize::from(bits)]
        } else {
            self.ram[usize::from(bits)]
        }
    }

    /// First node on a list that covers `[addr, addr + 2^want)`, by linear scan.
    fn scan(&self, device: bool, bits: u8, addr: u64, want: u8) -> u32 {
        let mut i = self.list(device, bits);
        while i != NIL {
            let n = self.n(i);
            // Offsets from the node, so a block at the top of the address
            // space cannot overflow the comparison.
            let fits = addr
                .checked_sub(n.paddr)
                .and_then(|off| off.checked_add(1u64 << want))
                .is_some_and(|end| end <= 1u64 << n.bits);
            if fits {
                return i;
            }
            i = n.next;
        }
        NIL
    }

    /// split.c `find_head_for_paddr`: is any free node of any size covering
    /// the object in this set of lists?
    fn covers(&self, device: bool, addr: u64, bits: u8) -> bool {
        (0..LISTS as u8).any(|b| self.scan(device, b, addr, bits) != NIL)
    }

    /// split.c `_refill_pool`.
    fn refill<K: Kernel>(&mut self, k: &mut K, device: bool, bits: u8, addr: Option<u64>) -> Result<(), AllocFailure> {
        let have = match addr {
            None => self.list(device, bits) != NIL,
            Some(a) => self.scan(device, bits, a, 0) != NIL,
        };
        if have {
            return Ok(());
        }
        if usize::from(bits) + 1 >= LISTS {
            return Err(AllocFailure::NoBlock);
        }
        self.refill(k, device, bits + 1, addr)?;
        let parent = match addr {
            None => self.list(device, bits + 1),
            Some(a) => self.scan(device, bits + 1, a, 0),
        };
        if parent == NIL {
            return Err(AllocFailure::NoBlock);
        }
        self.split(k, parent)
    }

    /// Two retypes of one half each, then the halves replace the parent.
    fn split<K: Kernel>(&mut self, k: &mut K, p: u32) -> Result<(), AllocFailure> {
        if self.nodes.capacity() - self.nodes.len() < 2 || self.caps.free_slots() < 2 {
            return Err(AllocFailure::Capacity(Capacity::ObjectTable));
        }
        let Node { slot: pslot, paddr, bits, device, .. } = *self.n(p);
        let half = bits - 1;
        let ls = self.caps.alloc().map_err(|_| AllocFailure::Capacity(Capacity::CapSlots))?;
        let rs = match self.caps.alloc() {
            Ok(s) => s,
            Err(_) => {
                let _ = self.caps.free(ls);
                return Err(AllocFailure::Capacity(Capacity::ObjectTable));
            }
        };
        if let Err(e) = k.untyped_retype(pslot, ObjectType::Untyped, half, ls, 1) {
            let _ = self.caps.free(ls);
            let _ = self.caps.free(rs);
            return Err(AllocFailure::Refused(e));
        }
        if let Err(e) = k.untyped_retype(pslot, ObjectType::Untyped, half, rs, 1) {
            let _ = k.cnode_delete(ls);
            let _ = self.caps.free(ls);
            let _ = self.caps.free(rs);
            return Err(AllocFailure::Refused(e));
        }
        self.unlink(p, State::Split);
        let mk = |slot, paddr| Node {
            slot,
            paddr,
            bits: half,
            device,
            parent: p,
            sibling: NIL,
            prev: NIL,
            next: NIL,
            state: State::Free,
            obj: Slot(0),
        };
        let l = self.nodes.insert(mk(ls, paddr)).ok_or(AllocFailure::Capacity(Capacity::ObjectTable))?;
        let r =
            self.nodes.insert(mk(rs, paddr + (1u64 << half))).ok_or(AllocFailure::Capacity(Capacity::ObjectTable))?;
        self.nm(l).sibling = r;
        self.nm(r).sibling = l;
        self.push(r);
        self.push(l);
        Ok(())
    }

    /// split.c `_utspace_split_free`.
    fn release<K: Kernel>(&mut self, k: &mut K, i: u32) -> Result<(), FreeError> {
        let Node { parent, sibling, slot, .. } = *self.n(i);
        if parent != NIL && self.n(sibling).state == State::Free {
            let sslot = self.n(sibling).slot;
            k.cnode_delete(sslot).map_err(FreeError::Kernel)?;
            self.unlink(sibling, State::Allocated);
            self.nodes.remove(sibling);
            let _ = self.caps.free(sslot);
            k.cnode_delete(slot).map_err(FreeError::Kernel)?;
            self.nodes.remove(i);
            let _ = self.caps.free(slot);
            self.release(k, parent)
        } else {
            self.push(i);
            Ok(())
        }
    }
}

impl Strategy for Buddy<'_> {
    fn name(&self) -> &'static str {
        "buddy"
    }

    fn alloc<K: Kernel>(
        &mut self,
        k: &mut K,
        ty: ObjectType,
        size_bits: u8,
        addr: Option<u64>,
    ) -> Result<Placed, AllocFailure> {
        let bits = bits_of(ty, size_bits)?;
        let (device, node) = match addr {
            None => {
                self.refill(k, false, bits, None)?;
                (false, self.list(false, bits))
            }
            Some(a) => {
                let device = if ty.allowed_from_device() && self.covers(true, a, bits) {
                    true
                } else if self.covers(false, a, bits) {
                    false
                } else {
                    return Err(AllocFailure::NoBlock);
                };
                self.refill(k, device, bits, Some(a))?;
                let mut i = self.list(device, bits);
                while i != NIL && self.n(i).paddr != a {
                    i = self.n(i).next;
                }
                (device, i)
            }
        };
        let _ = device;
        if node == NIL {
            return Err(AllocFailure::NoBlock);
        }
        let obj = self.caps.alloc().map_err(|_| AllocFailure::Capacity(Capacity::CapSlots))?;
        if let Err(e) = k.untyped_retype(self.n(node).slot, ty, size_bits, obj, 1) {
            let _ = self.caps.free(obj);
            return Err(AllocFailure::Refused(e));
        }
        self.unlink(node, State::Allocated);
        self.nm(node).obj = obj;
        Ok(Placed { handle: self.nodes.handle(node), paddr: self.n(node).paddr, slot: obj })
    }

    fn free<K: Kernel>(&mut self, k: &mut K, h: ObjectId) -> Result<(), FreeError> {
        let i = self.nodes.index(h).ok_or(FreeError::InvalidHandle)?;
        if self.n(i).state != State::Allocated {
            return Err(FreeError::InvalidHandle);
        }
        let obj = self.n(i).obj;
        k.cnode_delete(obj).map_err(FreeError::Kernel)?;
        let _ = self.caps.free(obj);
        self.release(k, i)
    }

    /// The largest free RAM node, verified by retyping an untyped of its
    /// size and freeing it (smaller sizes are tried if that fails).
    fn largest_allocatable<K: Kernel>(&mut self, k: &mut K) -> u64 {
        for bits in (MIN_UNTYPED_BITS..=MAX_UNTYPED_BITS).rev() {
            if self.ram[usize::from(bits)] == NIL {
                continue;
            }
            if let Ok(p) = self.alloc(k, ObjectType::Untyped, bits, None) {
                if self.free(k, p.handle).is_ok() {
                    return 1u64 << bits;
                }
            }
        }
        0
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;

    use super::*;
    use sel4_kernel_model::{KernelModel, ModelSlot};

    #[test]
    fn an_address_at_the_top_of_the_address_space_is_no_block_not_an_overflow() {
        let boot = [UntypedDesc { slot: Slot(1), paddr: 0, size_bits: 16, is_device: false }];
        let mut k = KernelModel::new(vec![ModelSlot::EMPTY; 64], &boot, Slot(2)).unwrap();
        let mut caps = vec![CapEntry::EMPTY; 62];
        let mut nodes = vec![Entry::EMPTY; 64];
        let mut s = Buddy::new(&boot, CapSpace::new(&mut caps[..], Slot(2)).unwrap(), &mut nodes).unwrap();
        let top = 0xffff_ffff_ffff_f000;
        assert_eq!(s.alloc(&mut k, ObjectType::Frame4K, 0, Some(top)).unwrap_err(), AllocFailure::NoBlock);
        // The scan still finds a block that does fit.
        assert_eq!(s.alloc(&mut k, ObjectType::Frame4K, 0, Some(0x3000)).unwrap().paddr, 0x3000);
    }
}
