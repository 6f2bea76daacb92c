//! With feature `root-task`: link arguments and kernel cfg flags of the self-test root tasks
//! (`sel4-root-task-build`). Always: the allocation trace `core-trace` replays (env
//! `CORE_TRACE`) and the system description `core-children` runs (env `CORE_SYSTEM`), embedded
//! into the images; without them the embedded files are empty.

fn main() {
    sel4_root_task_build::embed("CORE_TRACE", "core.trace");
    sel4_root_task_build::embed("CORE_SYSTEM", "system.bin");
    if std::env::var_os("CARGO_FEATURE_ROOT_TASK").is_some() {
        sel4_root_task_build::configure();
    }
}
