//! The runtime's lock: a `spin` mutex whose waiters yield the processor (`seL4_Yield`). On one
//! core a waiter that only spun would keep a holder of the same priority from running until
//! the timer preempted it; yielding lets the holder finish at once. seL4's yield gives way only
//! to threads of the same priority, so threads that share a lock should share a priority. A
//! thread destroyed while it holds a lock leaves it held: the log's waiters give up after a
//! while (`log::PATIENCE`); the heap's cannot, so a program destroys only threads that are not
//! allocating.

/// Waits by yielding the processor.
pub struct Yield;

impl spin::RelaxStrategy for Yield {
    fn relax() {
        sel4::syscalls::yield_now();
    }
}

/// A mutex that waits by yielding.
pub type Mutex<T> = spin::mutex::Mutex<T, Yield>;
