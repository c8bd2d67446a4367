//! The chaos schedule: a list of `(at, fault, for how long)` steps, written by hand or drawn from a seed,
//! played against a proxy in real time. Lasting faults in force at the same moment add up (the larger
//! latency, the smaller bandwidth, the union of stalls); a cut acts once; a refusal closes the listener
//! for its length; a stall ends with a reset of the connections open then (a half-open connection does not
//! come back). Each step's beginning and end is reported, with the moment it took effect.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use fastrand::Rng;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use crate::conditions::{Conditions, Stall};
use crate::proxy::{CutKind, Shared};

/// One fault of a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Every chunk delayed by `base` plus up to `jitter`.
    Latency {
        /// The fixed part.
        base: Duration,
        /// The random part's most.
        jitter: Duration,
    },
    /// At most this many bytes per second each way.
    Bandwidth(u64),
    /// Half-open: nothing forwarded in these directions, sockets kept open.
    Stall(Stall),
    /// Writes of `min..=max` bytes.
    Split {
        /// The smallest piece.
        min: usize,
        /// The largest piece.
        max: usize,
    },
    /// Every open connection reset inside a frame (its length is ignored).
    Cut,
    /// New connections refused.
    Refuse,
}

/// The kinds of fault a random schedule draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// [`Fault::Latency`] of 5-60 ms, jitter up to 30 ms.
    Latency,
    /// [`Fault::Bandwidth`] of 4-64 KiB/s.
    Bandwidth,
    /// [`Fault::Stall`], one direction or both.
    Stall,
    /// [`Fault::Split`] into 1-7 byte pieces.
    Split,
    /// [`Fault::Cut`].
    Cut,
    /// [`Fault::Refuse`].
    Refuse,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::Latency,
        FaultKind::Bandwidth,
        FaultKind::Stall,
        FaultKind::Split,
        FaultKind::Cut,
        FaultKind::Refuse,
    ];

    fn draw(self, rng: &mut Rng) -> Fault {
        match self {
            FaultKind::Latency => Fault::Latency {
                base: Duration::from_millis(rng.u64(5..=60)),
                jitter: Duration::from_millis(rng.u64(0..=30)),
            },
            FaultKind::Bandwidth => Fault::Bandwidth(rng.u64(4..=64) * 1024),
            FaultKind::Stall => Fault::Stall(match rng.u8(0..3) {
                0 => Stall::Upstream,
                1 => Stall::Downstream,
                _ => Stall::Both,
            }),
            FaultKind::Split => Fault::Split { min: 1, max: 7 },
            FaultKind::Cut => Fault::Cut,
            FaultKind::Refuse => Fault::Refuse,
        }
    }
}

/// One step: `fault` from `at` (after the schedule starts) for `lasts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// When it begins, from the start of the schedule.
    pub at: Duration,
    /// What.
    pub fault: Fault,
    /// How long it lasts (a cut is instantaneous).
    pub lasts: Duration,
}

/// How a random schedule is drawn.
#[derive(Debug, Clone)]
pub struct Chaos {
    /// Steps begin within this long.
    pub duration: Duration,
    /// The calm between the end of one step and the next.
    pub gap: Range<Duration>,
    /// How long each step lasts.
    pub length: Range<Duration>,
    /// The kinds drawn from: each once (in a random order) before any comes again.
    pub kinds: Vec<FaultKind>,
}

impl Default for Chaos {
    fn default() -> Chaos {
        Chaos {
            duration: Duration::from_secs(10),
            gap: Duration::from_millis(300)..Duration::from_millis(1500),
            length: Duration::from_millis(200)..Duration::from_millis(1500),
            kinds: FaultKind::ALL.to_vec(),
        }
    }
}

/// Steps in the order they begin.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schedule {
    steps: Vec<Step>,
}

impl Schedule {
    /// The schedule of `steps` (sorted by their beginning).
    pub fn new(mut steps: Vec<Step>) -> Schedule {
        steps.sort_by_key(|step| step.at);
        Schedule { steps }
    }

    /// A schedule drawn from `seed` as `chaos` says: one step after another, never overlapping, each
    /// followed by a calm. The same seed gives the same schedule.
    pub fn random(seed: u64, chaos: &Chaos) -> Schedule {
        let mut rng = Rng::with_seed(seed);
        let mut steps = Vec::new();
        let mut at = draw(&mut rng, &chaos.gap);
        // Kinds are dealt from a shuffled deck, so a short schedule still meets each of them.
        let mut deck: Vec<FaultKind> = Vec::new();
        while at < chaos.duration && !chaos.kinds.is_empty() {
            if deck.is_empty() {
                deck = chaos.kinds.clone();
                rng.shuffle(&mut deck);
            }
            let Some(kind) = deck.pop() else { break };
            let fault = kind.draw(&mut rng);
            let lasts = if fault == Fault::Cut {
                Duration::ZERO
            } else {
                draw(&mut rng, &chaos.length)
            };
            steps.push(Step { at, fault, lasts });
            at += lasts + draw(&mut rng, &chaos.gap);
        }
        Schedule { steps }
    }

    /// The steps.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// When the last step ends.
    pub fn total(&self) -> Duration {
        self.steps
            .iter()
            .map(|s| s.at + s.lasts)
            .max()
            .unwrap_or_default()
    }
}

fn draw(rng: &mut Rng, range: &Range<Duration>) -> Duration {
    let (low, high) = (range.start.as_millis(), range.end.as_millis());
    if high <= low {
        return range.start;
    }
    let low = u64::try_from(low).unwrap_or(u64::MAX);
    let high = u64::try_from(high).unwrap_or(u64::MAX);
    Duration::from_millis(rng.u64(low..high))
}

/// Whether a step began or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// In force from now (a cut: done).
    Began,
    /// Lifted.
    Ended,
}

/// One change the player made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Played {
    /// The step's index in [`Schedule::steps`].
    pub index: usize,
    /// The step's fault.
    pub fault: Fault,
    /// Began or ended.
    pub phase: Phase,
    /// When it took effect.
    pub at: Instant,
}

/// A schedule being played. Dropping it stops the player where it is (what is in force stays).
pub struct Playing {
    changes: mpsc::UnboundedReceiver<Played>,
    task: JoinHandle<()>,
}

impl Playing {
    pub(crate) fn start(shared: Arc<Shared>, schedule: Schedule) -> Playing {
        let (tx, changes) = mpsc::unbounded_channel();
        let task = tokio::spawn(play(shared, schedule, tx));
        Playing { changes, task }
    }

    /// The next change, as it happens; `None` once the schedule is over.
    pub async fn next(&mut self) -> Option<Played> {
        self.changes.recv().await
    }

    /// Waits until the schedule is over; returns the changes not taken with [`Playing::next`].
    pub async fn finish(mut self) -> Vec<Played> {
        let mut rest = Vec::new();
        while let Some(change) = self.changes.recv().await {
            rest.push(change);
        }
        rest
    }
}

impl Drop for Playing {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn play(shared: Arc<Shared>, schedule: Schedule, tx: mpsc::UnboundedSender<Played>) {
    let start = Instant::now();
    let mut moments: Vec<(Duration, usize, Phase)> = Vec::new();
    for (index, step) in schedule.steps.iter().enumerate() {
        moments.push((step.at, index, Phase::Began));
        if step.fault != Fault::Cut {
            moments.push((step.at + step.lasts, index, Phase::Ended));
        }
    }
    // Ends before beginnings at the same moment, so back-to-back steps do not overlap.
    moments.sort_by_key(|(at, index, phase)| (*at, *phase == Phase::Began, *index));
    let mut active: Vec<usize> = Vec::new();
    for (at, index, phase) in moments {
        sleep_until(start + at).await;
        let fault = schedule.steps[index].fault.clone();
        match phase {
            Phase::Began => active.push(index),
            Phase::Ended => active.retain(|&i| i != index),
        }
        if phase == Phase::Began && fault == Fault::Cut {
            for connection in shared.open_connections() {
                // Each cut on its own, so one slow cut does not hold back the schedule.
                tokio::spawn(async move { connection.cut().await });
            }
        }
        if phase == Phase::Ended && matches!(fault, Fault::Stall(_)) {
            // A half-open connection does not come back: what it holds is never delivered (a client that
            // gave it up would be sent bytes it no longer reads, and the tap would count them).
            for connection in shared.open_connections() {
                connection.0.cut.send_replace(Some(CutKind::Now));
            }
        }
        let faults: Vec<&Fault> = active.iter().map(|&i| &schedule.steps[i].fault).collect();
        shared.set(combine(&faults));
        shared.refuse(faults.contains(&&Fault::Refuse)).await;
        tracing::info!(index, ?fault, ?phase, "chaos schedule");
        let _ = tx.send(Played {
            index,
            fault,
            phase,
            at: Instant::now(),
        });
    }
    // The schedule ends on a clean network.
    shared.set(Conditions::clean());
    shared.refuse(false).await;
}

/// The conditions of several lasting faults in force together.
fn combine(faults: &[&Fault]) -> Conditions {
    let mut conditions = Conditions::clean();
    for fault in faults {
        match fault {
            Fault::Latency { base, jitter } => {
                conditions.latency = conditions.latency.max(*base);
                conditions.jitter = conditions.jitter.max(*jitter);
            }
            Fault::Bandwidth(rate) => {
                conditions.bandwidth = Some(conditions.bandwidth.map_or(*rate, |r| r.min(*rate)).max(1));
            }
            Fault::Stall(stall) => {
                conditions.stall = match (conditions.stall, *stall) {
                    (Stall::None, s) | (s, Stall::None) => s,
                    (a, b) if a == b => a,
                    _ => Stall::Both,
                };
            }
            Fault::Split { min, max } => conditions = conditions.with_split(*min, *max),
            Fault::Cut | Fault::Refuse => {}
        }
    }
    conditions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_schedule_and_steps_never_overlap() {
        let chaos = Chaos {
            duration: Duration::from_secs(20),
            ..Chaos::default()
        };
        let one = Schedule::random(7, &chaos);
        assert_eq!(one, Schedule::random(7, &chaos));
        assert_ne!(one, Schedule::random(8, &chaos));
        assert!(!one.steps().is_empty());
        for pair in one.steps().windows(2) {
            assert!(pair[0].at + pair[0].lasts < pair[1].at, "{pair:?}");
        }
        assert!(one.steps().iter().all(|s| s.at < chaos.duration));
        // Twenty seconds hold six steps or more (each step and calm lasts under 3 s): one of each kind.
        let kinds: Vec<_> = one
            .steps()
            .iter()
            .take(6)
            .map(|s| std::mem::discriminant(&s.fault))
            .collect();
        for fault in [Fault::Cut, Fault::Refuse, Fault::Split { min: 1, max: 7 }] {
            assert!(kinds.contains(&std::mem::discriminant(&fault)), "{one:?}");
        }
    }

    #[test]
    fn faults_in_force_together_add_up() {
        let latency = Fault::Latency {
            base: Duration::from_millis(20),
            jitter: Duration::from_millis(5),
        };
        let slow = Fault::Bandwidth(1000);
        let slower = Fault::Bandwidth(500);
        let up = Fault::Stall(Stall::Upstream);
        let down = Fault::Stall(Stall::Downstream);
        let c = combine(&[&latency, &slow, &slower, &up, &down]);
        assert_eq!(c.latency, Duration::from_millis(20));
        assert_eq!(c.bandwidth, Some(500));
        assert_eq!(c.stall, Stall::Both);
        assert_eq!(combine(&[]), Conditions::clean());
    }
}
