//! With feature `root-task`: the root-task binary's link arguments and the kernel
//! configuration's cfg flags (`sel4-root-task-build`).

fn main() {
    if std::env::var_os("CARGO_FEATURE_ROOT_TASK").is_some() {
        sel4_root_task_build::configure();
    }
}
