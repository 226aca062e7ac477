//! Multi-device kernels on the fast mode: the semaphores every device's
//! program shares, with waits that block until another device signals.
//!
//! Each device runs its whole grid on a thread of its own (not a rayon
//! worker: a wait blocks its thread until another device signals, and a
//! pool with fewer workers than devices would never run the signaller).
//! Nothing is checked but what keeps a launch from hanging: when every
//! device still running waits for a count its semaphore does not hold, the
//! waits fail, naming every waiter. Races, leftover counts and the rest are
//! the simulator's job.

use std::sync::{Condvar, Mutex, MutexGuard};

/// The semaphores of every device of one launch.
pub struct MeshSems {
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    /// `values[device][slot]`.
    values: Vec<Vec<i64>>,
    /// What each device waits for: `(slot, count)`.
    waiting: Vec<Option<(usize, i64)>>,
    finished: Vec<bool>,
    /// The waiters, once every running device waits in vain.
    deadlock: Option<String>,
}

impl State {
    fn stuck(&self) -> bool {
        self.waiting.iter().any(Option::is_some)
            && (0..self.values.len()).all(|d| {
                self.finished[d] || matches!(self.waiting[d], Some((s, n)) if self.values[d][s] < n)
            })
    }

    fn waiters(&self) -> String {
        self.waiting
            .iter()
            .enumerate()
            .filter_map(|(d, w)| {
                let (slot, n) = (*w)?;
                Some(format!(
                    "device {d} waits for {n} on semaphore slot {slot} (it holds {})",
                    self.values[d][slot]
                ))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl MeshSems {
    /// `devices` devices with `slots` semaphore slots each, all zero.
    pub fn new(devices: usize, slots: usize) -> Self {
        MeshSems {
            state: Mutex::new(State {
                values: vec![vec![0; slots]; devices],
                waiting: vec![None; devices],
                finished: vec![false; devices],
                deadlock: None,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `n` to `device`'s slot; an error when the device has no such
    /// slot (a `run_scoped` semaphore it has not opened).
    pub fn signal(&self, device: usize, slot: usize, n: i64) -> Result<(), String> {
        let mut st = self.lock();
        match st.values[device].get_mut(slot) {
            Some(v) => *v += n,
            None => {
                return Err(format!(
                    "device {device} has no semaphore slot {slot} open (a run_scoped semaphore it has not entered)"
                ))
            }
        }
        drop(st);
        self.changed.notify_all();
        Ok(())
    }

    /// The count of `device`'s slot.
    pub fn read(&self, device: usize, slot: usize) -> i64 {
        self.lock().values[device][slot]
    }

    /// Waits until `device`'s slot holds `n`, then subtracts it; an error
    /// naming every waiter when no running device can signal any more.
    pub fn wait(&self, device: usize, slot: usize, n: i64) -> Result<(), String> {
        let mut st = self.lock();
        loop {
            if st.values[device][slot] >= n {
                st.values[device][slot] -= n;
                st.waiting[device] = None;
                return Ok(());
            }
            st.waiting[device] = Some((slot, n));
            if st.deadlock.is_none() && st.stuck() {
                st.deadlock = Some(st.waiters());
            }
            if let Some(w) = st.deadlock.clone() {
                st.waiting[device] = None;
                drop(st);
                self.changed.notify_all();
                return Err(w);
            }
            st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Opens `n` more slots on `device` (a `run_scoped` semaphore);
    /// returns the first.
    pub fn open(&self, device: usize, n: usize) -> usize {
        let mut st = self.lock();
        let base = st.values[device].len();
        st.values[device].resize(base + n, 0);
        base
    }

    /// Closes `device`'s slots from `base` on.
    pub fn close(&self, device: usize, base: usize) {
        self.lock().values[device].truncate(base);
    }

    /// Marks a device finished (or failed).
    pub fn finish(&self, device: usize) {
        let mut st = self.lock();
        st.finished[device] = true;
        st.waiting[device] = None;
        if st.deadlock.is_none() && st.stuck() {
            st.deadlock = Some(st.waiters());
        }
        drop(st);
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_returns_once_another_device_signals() {
        let m = MeshSems::new(2, 1);
        std::thread::scope(|s| {
            s.spawn(|| m.signal(0, 0, 3).unwrap());
            assert_eq!(m.wait(0, 0, 3), Ok(()));
        });
        assert_eq!(m.read(0, 0), 0);
    }

    #[test]
    fn waits_no_one_can_satisfy_fail_naming_every_waiter() {
        let m = MeshSems::new(2, 2);
        let errs = std::thread::scope(|s| {
            let a = s.spawn(|| m.wait(0, 1, 2));
            let b = s.spawn(|| m.wait(1, 0, 1));
            [a.join().unwrap(), b.join().unwrap()]
        });
        for e in errs {
            let e = e.unwrap_err();
            assert!(
                e.contains("device 0 waits for 2 on semaphore slot 1"),
                "{e}"
            );
            assert!(
                e.contains("device 1 waits for 1 on semaphore slot 0"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_finished_device_cannot_wake_a_waiter() {
        let m = MeshSems::new(2, 1);
        m.finish(1);
        assert!(m.wait(0, 0, 1).unwrap_err().contains("device 0 waits"));
    }

    #[test]
    fn signalling_a_slot_the_device_has_not_opened_is_an_error() {
        let m = MeshSems::new(2, 1);
        let base = m.open(0, 2);
        assert_eq!(base, 1);
        assert!(m.signal(1, 2, 1).is_err());
        assert!(m.signal(0, 2, 1).is_ok());
        m.close(0, base);
        assert!(m.signal(0, 2, 1).is_err());
    }
}
