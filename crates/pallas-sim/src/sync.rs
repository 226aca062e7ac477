//! Semaphores shared by the simulated cores (of every device), with
//! deadlock detection: when every running core waits, the wait fails
//! instead of hanging, naming every waiter.
//!
//! With a seeded turn order ([`Semaphores::new`]'s `turns`), one core runs
//! at a time and the turn moves only at synchronization points (signals,
//! waits that block, remote copies, a core's end), to a core drawn from a seeded
//! generator among those that can run. Everything between two turns runs
//! alone, so a launch is a function of its inputs and the seed: a race or
//! deadlock that depends on the interleaving reproduces with the seed.

use std::sync::{Condvar, Mutex, MutexGuard};

/// Joins vector clock `from` into `into` (the componentwise maximum).
fn join(into: &mut [u32], from: &[u32]) {
    for (a, &b) in into.iter_mut().zip(from) {
        *a = (*a).max(b);
    }
}

/// A signal to a slot not yet opened: (slot, count, the signaller's vector
/// clock when races are tracked).
type EarlySignal = (usize, i64, Option<Vec<u32>>);

/// Semaphore counts per core, and who is waiting.
pub struct SemState {
    /// `values[core][slot]`.
    pub values: Vec<Vec<i64>>,
    /// Signals to `run_scoped` slots a core has not opened yet (another
    /// core got there first): `(slot, count, the signaller's vector clock
    /// when races are tracked)` per core, added when the core opens the
    /// slot, as JAX's interpret mode lets them land.
    early: Vec<Vec<EarlySignal>>,
    /// `clocks[core][slot]`: the vector clock the semaphore carries (race
    /// detection only).
    clocks: Option<Vec<Vec<Vec<u32>>>>,
    /// What each core waits for, if it waits: `(slot, amount)`.
    waiting: Vec<Option<(usize, i64)>>,
    /// Which cores have finished.
    finished: Vec<bool>,
    /// The waiters when a deadlock was found.
    deadlock: Option<Vec<Waiter>>,
    /// The seeded turn order, if the cores take turns.
    turns: Option<Turns>,
}

/// Whose turn it is, and the generator that picks the next.
struct Turns {
    /// The core allowed to run.
    current: usize,
    /// splitmix64 state.
    state: u64,
}

impl Turns {
    /// The next draw of splitmix64.
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A core found waiting in a deadlock.
#[derive(Clone, Debug)]
pub struct Waiter {
    /// The core (global: `device * cores + core`).
    pub core: usize,
    /// The slot it waits on.
    pub slot: usize,
    /// The count it waits for.
    pub wants: i64,
    /// The count the slot holds.
    pub has: i64,
}

impl SemState {
    /// Every waiting core and what it waits for.
    fn waiters(&self) -> Vec<Waiter> {
        self.waiting
            .iter()
            .enumerate()
            .filter_map(|(core, w)| {
                let (slot, wants) = (*w)?;
                Some(Waiter {
                    core,
                    slot,
                    wants,
                    has: self.values[core][slot],
                })
            })
            .collect()
    }

    /// Whether core `c` can run: not finished, and not waiting for a count
    /// its semaphore does not hold.
    fn ready(&self, c: usize) -> bool {
        !self.finished[c]
            && match self.waiting[c] {
                None => true,
                Some((s, n)) => self.values[c][s] >= n,
            }
    }

    /// Gives the turn to a core drawn among those that can run (none when
    /// none can: the launch is over or deadlocked).
    fn pass_turn(&mut self) {
        let ready: Vec<usize> = (0..self.finished.len())
            .filter(|&c| self.ready(c))
            .collect();
        if let (Some(t), false) = (self.turns.as_mut(), ready.is_empty()) {
            t.current = ready[(t.next() % ready.len() as u64) as usize];
        }
    }

    /// Whether `core` may run now.
    fn may_run(&self, core: usize) -> bool {
        self.deadlock.is_some() || self.turns.as_ref().is_none_or(|t| t.current == core)
    }

    /// Whether no core can make progress: every core has finished or waits
    /// for a count its semaphore does not hold (a waiter whose count has
    /// arrived but that has not woken yet is progress).
    fn stuck(&self) -> bool {
        let any_waiting = self.waiting.iter().any(Option::is_some);
        any_waiting
            && (0..self.values.len()).all(|c| {
                self.finished[c] || matches!(self.waiting[c], Some((s, n)) if self.values[c][s] < n)
            })
    }
}

/// The shared semaphore state of one launch.
pub struct Semaphores {
    state: Mutex<SemState>,
    changed: Condvar,
    /// With turns: one condition per core, so that passing the turn wakes
    /// only the core that gets it. Empty without turns, which is how
    /// [`Semaphores::yield_turn`] returns without taking the lock.
    turn_given: Vec<Condvar>,
}

/// Why a wait failed.
pub enum WaitError {
    /// Every running core is waiting: the waiters.
    Deadlock(Vec<Waiter>),
}

impl Semaphores {
    /// `cores` cores with `slots` semaphores each, all zero. With
    /// `turns`, the cores take turns in the order that seed draws.
    pub fn new(cores: usize, slots: usize, track_clocks: bool, turns: Option<u64>) -> Self {
        let mut st = SemState {
            values: vec![vec![0; slots]; cores],
            early: vec![Vec::new(); cores],
            clocks: track_clocks.then(|| vec![vec![vec![0; cores]; slots]; cores]),
            waiting: vec![None; cores],
            finished: vec![false; cores],
            deadlock: None,
            turns: turns.map(|seed| Turns {
                current: 0,
                state: seed,
            }),
        };
        st.pass_turn();
        Semaphores {
            state: Mutex::new(st),
            changed: Condvar::new(),
            turn_given: (0..if turns.is_some() { cores } else { 0 })
                .map(|_| Condvar::new())
                .collect(),
        }
    }

    /// Blocks until `core` may run (at once without turns).
    fn await_turn<'a>(
        &'a self,
        core: usize,
        mut st: MutexGuard<'a, SemState>,
    ) -> MutexGuard<'a, SemState> {
        while !st.may_run(core) {
            st = self.sleep(core, st);
        }
        st
    }

    /// Sleeps until woken: on `core`'s own condition with turns, else on
    /// the shared one.
    fn sleep<'a>(&'a self, core: usize, st: MutexGuard<'a, SemState>) -> MutexGuard<'a, SemState> {
        let cv = if st.turns.is_some() {
            &self.turn_given[core]
        } else {
            &self.changed
        };
        cv.wait(st).unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes whoever may now proceed: with turns the core holding the turn
    /// (every core on a deadlock), else every sleeper.
    fn wake(&self, st: &SemState) {
        match &st.turns {
            Some(t) if st.deadlock.is_none() => self.turn_given[t.current].notify_one(),
            Some(_) => self.turn_given.iter().for_each(Condvar::notify_one),
            None => self.changed.notify_all(),
        }
    }

    /// Called by each core before it runs anything: waits for its first
    /// turn.
    pub fn begin(&self, core: usize) {
        let st = self.lock();
        drop(self.await_turn(core, st));
    }

    /// A synchronization point of `core` (which holds the turn): the turn
    /// goes to a core drawn among those that can run, maybe this one, and
    /// `core` continues when it is drawn again.
    pub fn yield_turn(&self, core: usize) {
        if self.turn_given.is_empty() {
            return;
        }
        let mut st = self.lock();
        st.pass_turn();
        if !st.may_run(core) {
            self.wake(&st);
            drop(self.await_turn(core, st));
        }
    }

    /// Locks the state.
    pub fn lock(&self) -> MutexGuard<'_, SemState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `n` to a semaphore and wakes waiters; with race detection the
    /// semaphore also takes on the signaller's vector clock.
    pub fn signal(&self, core: usize, slot: usize, n: i64, vc: Option<&[u32]>) {
        let mut st = self.lock();
        if let Some(v) = st.values.get_mut(core).and_then(|c| c.get_mut(slot)) {
            *v += n;
        } else if let Some(early) = st.early.get_mut(core) {
            // The slot opens later: it takes the count and the clock then.
            early.push((slot, n, vc.map(<[u32]>::to_vec)));
        }
        if let (Some(clocks), Some(vc)) = (st.clocks.as_mut(), vc) {
            if let Some(c) = clocks.get_mut(core).and_then(|c| c.get_mut(slot)) {
                join(c, vc);
            }
        }
        // With turns, a waiter proceeds only when given the turn.
        if st.turns.is_none() {
            drop(st);
            self.changed.notify_all();
        }
    }

    /// Reads a semaphore.
    pub fn read(&self, core: usize, slot: usize) -> i64 {
        self.lock().values[core][slot]
    }

    /// Waits until a semaphore holds `n`, then subtracts it.
    pub fn wait(
        &self,
        core: usize,
        slot: usize,
        n: i64,
        vc: Option<&mut [u32]>,
    ) -> Result<(), WaitError> {
        let mut st = self.lock();
        loop {
            if st.may_run(core) && st.values[core][slot] >= n {
                st.values[core][slot] -= n;
                st.waiting[core] = None;
                if let (Some(clocks), Some(vc)) = (st.clocks.as_ref(), vc) {
                    join(vc, &clocks[core][slot]);
                }
                // Not a turn point: a wait that needs no one else changes
                // nothing another core can see.
                return Ok(());
            }
            st.waiting[core] = Some((slot, n));
            if st.deadlock.is_none() && st.stuck() {
                st.deadlock = Some(st.waiters());
            }
            if let Some(w) = st.deadlock.clone() {
                st.waiting[core] = None;
                self.wake(&st);
                return Err(WaitError::Deadlock(w));
            }
            if st.may_run(core) && st.turns.is_some() {
                // Blocked while holding the turn: hand it on (someone can
                // run, or this would have been a deadlock).
                st.pass_turn();
                self.wake(&st);
            }
            st = self.sleep(core, st);
        }
    }

    /// Grows a core's slots (for `run_scoped` semaphores) and returns the
    /// first new slot.
    pub fn push_slots(&self, core: usize, n: usize) -> usize {
        let mut st = self.lock();
        let base = st.values[core].len();
        st.values[core].resize(base + n, 0);
        // Signals that arrived before the slots opened.
        let early = std::mem::take(&mut st.early[core]);
        let (now, later): (Vec<_>, Vec<_>) = early.into_iter().partition(|(s, _, _)| *s < base + n);
        st.early[core] = later;
        let cores = st.values.len();
        if let Some(c) = st.clocks.as_mut() {
            c[core].resize(base + n, vec![0; cores]);
        }
        for (s, count, vc) in now {
            st.values[core][s] += count;
            // The signaller's clock, so that the wait it satisfies is
            // ordered after everything the signaller did before it.
            if let (Some(clocks), Some(vc)) = (st.clocks.as_mut(), vc) {
                join(&mut clocks[core][s], &vc);
            }
        }
        base
    }

    /// Drops a core's slots from `base` on, returning their counts.
    pub fn pop_slots(&self, core: usize, base: usize) -> Vec<i64> {
        let mut st = self.lock();
        if let Some(c) = st.clocks.as_mut() {
            c[core].truncate(base);
        }
        st.values[core].split_off(base)
    }

    /// Whether a core has finished.
    pub fn finished(&self, core: usize) -> bool {
        self.lock().finished.get(core).copied().unwrap_or(true)
    }

    /// Marks a core finished (or failed): waiters that can no longer be
    /// woken by it see a deadlock.
    pub fn finish(&self, core: usize) {
        let mut st = self.lock();
        st.finished[core] = true;
        st.waiting[core] = None;
        if st.deadlock.is_none() && st.stuck() {
            st.deadlock = Some(st.waiters());
        }
        if st.turns.as_ref().is_some_and(|t| t.current == core) {
            st.pass_turn();
        }
        self.wake(&st);
    }
}
