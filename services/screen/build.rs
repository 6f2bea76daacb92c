//! With feature `service`: the service binary's link arguments (`sel4-root-task-build`).

fn main() {
    if std::env::var_os("CARGO_FEATURE_SERVICE").is_some() {
        sel4_root_task_build::configure_for(sel4_root_task_build::Image::Service);
    }
}
