//! Runtime for an seL4 root task: entry point, stack, panic handler, printing.
#![no_std]
