//! Typed seL4 API: caps, syscalls, IPC buffer, bootinfo, errors and invocations.
#![no_std]
