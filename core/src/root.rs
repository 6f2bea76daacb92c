//! core on the real kernel (feature `root-task`): what a root task built on this library
//! needs beyond the host-tested parts.
//! * [`boot`]: core from bootinfo to ready;
//! * [`child`]: a child service's protection domain, built, charged and reclaimed;
//! * [`channels`]: what a child keeps across restarts, and its channels' caps and shared
//!   memory at each start;
//! * [`kernel`]: the [`crate::kernel::Kernel`] trait over seL4's invocations;
//! * [`state`]: at boot, every untyped from bootinfo mirrored into the pool and the range
//!   allocators, and the untyped table core prints;
//! * [`vspace`]: frames core placed, mapped into its own VSpace (its metadata);
//! * [`cspace`]: core's CSpace grown past the boot CNode to two levels;
//! * [`runner`]: allocations timed, counted and (feature `audit`) checked by [`audit`];
//! * [`error`]: why a root task stops;
//! * [`server`]: core serving its children over one endpoint (its receive loop, the table of
//!   children that handles each message, fault reports); [`child_pd`]: a child's PD
//!   as the loader ([`crate::loader`]) and its sessions ([`crate::session`]) use it;
//! * [`telemetry`]: what serving each request kind cost (feature `work-clock`);
//! * [`probe`]: paging structures of core's VSpace placed ahead of use;
//! * [`log_window`]: each child's log buffer, mapped in core for its `LogBuffer` requests;
//! * [`heap`]: core's heap, where records that grow with use live;
//! * [`seed`]: the demo of core's placement (the 8 KiB gap case); [`device`]: a device frame
//!   placed at the VGA text buffer (the placement self-test; drivers own devices otherwise).

pub mod audit;
pub mod boot;
pub mod channels;
pub mod child;
pub mod child_pd;
pub mod cspace;
pub mod device;
pub mod error;
pub mod heap;
pub mod interrupt;
pub mod kernel;
pub mod log_window;
pub mod metadata;
pub mod probe;
pub mod runner;
pub mod seed;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod vspace;
pub mod watchdog;
