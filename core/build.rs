//! With feature `root-task`: the root-task binary's link arguments and the kernel
//! configuration's cfg flags (`sel4-root-task-build`). Always: the system description core
//! starts services from, named by env `CORE_SYSTEM` (the run tool writes it), embedded as
//! `$OUT_DIR/system.bin`; without it the file is empty.

fn main() {
    sel4_root_task_build::embed("CORE_SYSTEM", "system.bin");
    if std::env::var_os("CARGO_FEATURE_ROOT_TASK").is_some() {
        sel4_root_task_build::configure();
    }
}
