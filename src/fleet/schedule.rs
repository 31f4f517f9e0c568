//! Which members start when: waves in order, each only once the one before
//! it is over; at most `concurrency` running; none once the fleet stopped.
//! Pure: the driver tells it what happened and asks what is next.

use super::row::MemberPhase;

#[derive(Clone, Debug)]
pub struct Schedule {
    /// Member indexes of each wave.
    waves: Vec<Vec<usize>>,
    concurrency: usize,
    stop_on_failure: bool,
    pub phases: Vec<MemberPhase>,
    /// Why no more members start.
    pub stopped: Option<String>,
    /// The operator paused the fleet: no member starts until they go on.
    pub paused: Option<String>,
    /// A member waits for the operator's decision on a failed step: none
    /// starts meanwhile.
    pub held: Option<String>,
}

impl Schedule {
    #[must_use]
    pub fn new(waves: Vec<Vec<usize>>, members: usize, concurrency: usize, stop_on_failure: bool) -> Self {
        Self {
            waves,
            concurrency: concurrency.max(1),
            stop_on_failure,
            phases: vec![MemberPhase::Waiting; members],
            stopped: None,
            paused: None,
            held: None,
        }
    }

    /// A member's run is over (for the schedule) when it completed, or
    /// failed and failures do not stop the fleet.
    fn over(&self, i: usize) -> bool {
        match self.phases[i] {
            MemberPhase::Done => true,
            MemberPhase::Held | MemberPhase::RolledBack => !self.stop_on_failure,
            MemberPhase::Waiting | MemberPhase::Running => false,
        }
    }

    /// The wave being worked on (from 0): the first with a member not over.
    #[must_use]
    pub fn wave(&self) -> Option<usize> {
        self.waves.iter().position(|w| w.iter().any(|&i| !self.over(i)))
    }

    #[must_use]
    pub fn waves(&self) -> &[Vec<usize>] {
        &self.waves
    }

    /// Which wave a member is in (from 0).
    #[must_use]
    pub fn wave_of(&self, member: usize) -> usize {
        self.waves.iter().position(|w| w.contains(&member)).unwrap_or(0)
    }

    #[must_use]
    pub fn running(&self) -> usize {
        self.phases.iter().filter(|p| **p == MemberPhase::Running).count()
    }

    /// The members to start now.
    #[must_use]
    pub fn next(&self) -> Vec<usize> {
        if self.stopped.is_some() || self.paused.is_some() || self.held.is_some() {
            return Vec::new();
        }
        let Some(wave) = self.wave() else { return Vec::new() };
        let room = self.concurrency.saturating_sub(self.running());
        self.waves[wave].iter().copied().filter(|&i| self.phases[i] == MemberPhase::Waiting).take(room).collect()
    }

    /// A member failed: with `stop_on_failure`, the fleet stops (once).
    pub fn failed(&mut self, member: usize, phase: MemberPhase, why: &str, name: &str) -> Option<String> {
        self.phases[member] = phase;
        if self.stop_on_failure && self.stopped.is_none() {
            let reason = format!("{name} {}: {why}", phase.word());
            self.stopped = Some(reason.clone());
            return Some(reason);
        }
        None
    }

    /// Nothing runs and nothing will start (a paused fleet is not over).
    #[must_use]
    pub fn idle(&self) -> bool {
        self.running() == 0 && self.paused.is_none() && self.next().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eight() -> Schedule {
        Schedule::new(vec![vec![0], vec![1, 2, 3], vec![4, 5, 6, 7]], 8, 2, true)
    }

    #[test]
    fn a_wave_starts_when_the_one_before_is_done_and_within_the_concurrency() {
        let mut s = eight();
        assert_eq!(s.next(), vec![0], "the canary alone");
        s.phases[0] = MemberPhase::Running;
        assert_eq!(s.next(), Vec::<usize>::new(), "the second wave waits for the canary");
        s.phases[0] = MemberPhase::Done;
        assert_eq!(s.next(), vec![1, 2], "two at a time");
        s.phases[1] = MemberPhase::Running;
        s.phases[2] = MemberPhase::Running;
        assert!(s.next().is_empty());
        s.phases[1] = MemberPhase::Done;
        assert_eq!(s.next(), vec![3], "the wave's last member, not the next wave's first");
        s.phases[2] = MemberPhase::Done;
        s.phases[3] = MemberPhase::Done;
        assert_eq!((s.wave(), s.next()), (Some(2), vec![4, 5]));
    }

    #[test]
    fn a_failure_stops_the_fleet_and_running_members_go_on() {
        let mut s = eight();
        s.phases[0] = MemberPhase::Done;
        s.phases[1] = MemberPhase::Running;
        s.phases[3] = MemberPhase::Running;
        let reason = s.failed(2, MemberPhase::RolledBack, "step 1.7 failed", "shard-3");
        assert_eq!(reason.as_deref(), Some("shard-3 rolled back: step 1.7 failed"));
        assert!(s.next().is_empty() && !s.idle(), "nothing new starts, two still run");
        s.phases[1] = MemberPhase::Done;
        s.phases[3] = MemberPhase::Done;
        assert!(s.idle());
        assert_eq!(s.phases[4..], [MemberPhase::Waiting; 4], "the last wave never started");
        assert_eq!(s.failed(1, MemberPhase::Held, "x", "y"), None, "it stops once");
    }

    #[test]
    fn a_paused_fleet_or_a_member_awaiting_a_decision_starts_no_one() {
        let mut s = eight();
        s.paused = Some("the operator paused the fleet".into());
        assert!(s.next().is_empty() && !s.idle());
        s.paused = None;
        s.held = Some("shard-1 waits for a decision".into());
        assert!(s.next().is_empty());
        s.held = None;
        assert_eq!(s.next(), vec![0]);
    }

    #[test]
    fn without_the_stop_rule_a_failed_member_counts_as_over() {
        let mut s = Schedule::new(vec![vec![0], vec![1, 2]], 3, 4, false);
        assert_eq!(s.failed(0, MemberPhase::Held, "x", "a"), None);
        assert_eq!(s.next(), vec![1, 2]);
    }
}
