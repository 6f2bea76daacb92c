//! With feature `service`: the service binary's link arguments (`sel4-root-task-build`).
//! Always: the request script named by env `REQUESTS` (the run tool sets it), embedded as
//! `$OUT_DIR/requests.txt`; without it the script is empty.

fn main() {
    sel4_root_task_build::embed("REQUESTS", "requests.txt");
    if std::env::var_os("CARGO_FEATURE_SERVICE").is_some() {
        sel4_root_task_build::configure_for(sel4_root_task_build::Image::Service);
    }
}
