//! process.scheduler (sched_setattr) and process.ioPriority (ioprio_set),
//! applied only when the spec sets them.

use bincode::{Decode, Encode};
use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriority, LinuxSchedulerFlag, LinuxSchedulerPolicy, Scheduler,
};

use super::{sys, SecurityError};

/// sched_setattr's own struct.
pub use super::sys::SchedAttr as SchedPlan;

const SCHED_FIFO: u32 = 1;
const SCHED_RR: u32 = 2;
const SCHED_DEADLINE: u32 = 6;

fn bad(m: String) -> SecurityError {
    SecurityError::Invalid(m)
}

pub fn plan(s: &Scheduler) -> Result<SchedPlan, SecurityError> {
    let policy = match s.policy() {
        LinuxSchedulerPolicy::SchedOther => 0,
        LinuxSchedulerPolicy::SchedFifo => SCHED_FIFO,
        LinuxSchedulerPolicy::SchedRr => SCHED_RR,
        LinuxSchedulerPolicy::SchedBatch => 3,
        LinuxSchedulerPolicy::SchedIso => 4,
        LinuxSchedulerPolicy::SchedIdle => 5,
        LinuxSchedulerPolicy::SchedDeadline => SCHED_DEADLINE,
    };
    let flags = s.flags().iter().flatten().fold(0u64, |m, f| {
        m | match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        }
    });
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        return Err(bad(format!("invalid scheduler.nice: {nice}")));
    }
    let priority = s.priority().unwrap_or(0);
    let rt = policy == SCHED_FIFO || policy == SCHED_RR;
    if (rt && !(1..=99).contains(&priority)) || (!rt && priority != 0) {
        return Err(bad(format!(
            "invalid scheduler.priority {priority} for the scheduler policy"
        )));
    }
    let (runtime, deadline, period) = (
        s.runtime().unwrap_or(0),
        s.deadline().unwrap_or(0),
        s.period().unwrap_or(0),
    );
    if policy != SCHED_DEADLINE && (runtime | deadline | period) != 0 {
        return Err(bad(
            "scheduler runtime, deadline and period are only for SCHED_DEADLINE".into(),
        ));
    }
    Ok(SchedPlan {
        size: 0,
        policy,
        flags,
        nice,
        priority: priority as u32,
        runtime,
        deadline,
        period,
    })
}

impl SchedPlan {
    pub fn apply(&self) -> Result<(), SecurityError> {
        sys::sched_setattr(self).map_err(|e| SecurityError::sys("error setting scheduler", e))
    }
}

/// ioprio value: class in bits 13.., level below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct IoPrio(pub i32);

pub fn io_plan(p: &LinuxIOPriority) -> Result<IoPrio, SecurityError> {
    let class = match p.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    let level = p.priority();
    if !(0..=7).contains(&level) {
        return Err(bad(format!("invalid ioPriority.Priority: {level}")));
    }
    Ok(IoPrio((class << 13) | level as i32))
}

impl IoPrio {
    pub fn apply(self) -> Result<(), SecurityError> {
        sys::ioprio_set(self.0).map_err(|e| SecurityError::sys("failed to set io priority", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let s: Scheduler = serde_json::from_str(r#"{"policy":"SCHED_FIFO","priority":0}"#).unwrap();
        assert!(plan(&s)
            .unwrap_err()
            .to_string()
            .contains("invalid scheduler.priority"));
        let s: Scheduler = serde_json::from_str(r#"{"policy":"SCHED_BATCH","nice":5}"#).unwrap();
        assert_eq!(plan(&s).unwrap().policy, 3);
        let s: Scheduler = serde_json::from_str(r#"{"policy":"SCHED_OTHER","nice":40}"#).unwrap();
        assert_eq!(
            plan(&s).unwrap_err().to_string(),
            "invalid scheduler.nice: 40"
        );
        let p: LinuxIOPriority =
            serde_json::from_str(r#"{"class":"IOPRIO_CLASS_IDLE","priority":0}"#).unwrap();
        assert_eq!(io_plan(&p).unwrap(), IoPrio(3 << 13));
        let p: LinuxIOPriority =
            serde_json::from_str(r#"{"class":"IOPRIO_CLASS_BE","priority":9}"#).unwrap();
        assert_eq!(
            io_plan(&p).unwrap_err().to_string(),
            "invalid ioPriority.Priority: 9"
        );
    }
}
