//! The validator's threads that poll without sleeping. A one-node `solana-test-validator` is
//! always the leader, and agave 4.2.2's transaction scheduler (`solBnkTxSched`,
//! `banking_stage/transaction_scheduler/scheduler_controller.rs`) receives without blocking
//! while it leads: it takes a whole core even when no transaction arrives, and the repair
//! service (`solRepairSvc`) about a tenth of one (`perf record -a`, 2026-12-07, docs/notes.md).
//! On a cluster they run on the validator's own many cores; on this 2-core machine they take
//! half of what the bridge, its database and the node's JSON-RPC share. `bridge_figures` lowers
//! them to the lowest priority, so they take what nobody else wants and still run whenever a
//! core is free.

/// The names (as Linux shows them, 15 bytes at most) of the threads that poll.
pub const POLLING_THREADS: [&str; 2] = ["solBnkTxSched", "solRepairSvc"];

/// Sets every thread of this process named one of `names` to nice 19 (`renice`); returns how
/// many. Panics when `renice` fails or a name has no thread (another agave version, or the
/// validator not started), so that a figure never silently measures otherwise.
pub fn lower_priority(names: &[&str]) -> usize {
    let mut lowered = 0;
    let mut found = std::collections::HashSet::new();
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task lists the threads") {
        let task = task.expect("a thread's entry");
        let Ok(name) = std::fs::read_to_string(task.path().join("comm")) else {
            continue; // the thread has exited
        };
        let name = name.trim_end();
        if !names.contains(&name) {
            continue;
        }
        found.insert(name.to_owned());
        let thread_id = task.file_name().to_string_lossy().into_owned();
        let status = std::process::Command::new("renice")
            .args(["-n", "19", "-p", &thread_id])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("renice runs");
        assert!(status.success(), "renice of thread {thread_id}: {status}");
        lowered += 1;
    }
    for name in names {
        assert!(
            found.contains(*name),
            "no thread named {name} in this process"
        );
    }
    lowered
}
