//! Where a run's CPU time went, read from Linux's `/proc`: a process's own (all its threads),
//! and the whole machine's busy and total time. The benchmark reports them beside its rates,
//! so that what bounds a rate on a shared machine (the validator, the bridge, the database) is
//! measured in every run, not guessed.

/// Clock ticks a second in `/proc`'s CPU times: the kernel's `USER_HZ`, 100 on Linux whatever
/// the kernel's own tick rate.
const TICKS_PER_SECOND: f64 = 100.0;

/// The CPU time (user and system, all threads, in seconds) the process `pid` has used so far;
/// `None` once it has exited, or off Linux.
pub fn process_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: the fields after its closing parenthesis,
    // from field 3 (the state) on; user time is field 14 and system time field 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some((user + system) as f64 / TICKS_PER_SECOND)
}

/// The machine's CPU time so far, all cores together, in seconds: busy (everything but idle
/// and waiting for I/O) and in all.
pub fn machine_seconds() -> Option<MachineTime> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    // user, nice, system, idle, iowait, irq, softirq, steal (guest time is within user).
    let all: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some(MachineTime {
        busy: (all - idle) as f64 / TICKS_PER_SECOND,
        all: all as f64 / TICKS_PER_SECOND,
    })
}

/// The machine's CPU time, all cores together (seconds).
#[derive(Clone, Copy, Debug)]
pub struct MachineTime {
    /// Busy: user, system, interrupts.
    pub busy: f64,
    /// Busy and idle.
    pub all: f64,
}

impl MachineTime {
    /// The time from `earlier` to this one.
    pub fn since(self, earlier: MachineTime) -> MachineTime {
        MachineTime {
            busy: self.busy - earlier.busy,
            all: self.all - earlier.all,
        }
    }
}
