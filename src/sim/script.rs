//! Scripted faults, shared by the simulators: each queued for the next `count` requests on a
//! route, first injected first served.

use std::collections::VecDeque;

/// A simulator's route type: `Any` covers every request.
pub(super) trait RouteMatch: Copy {
    fn covers(self, actual: Self) -> bool;
}

/// Faults waiting for their requests.
#[derive(Debug)]
pub(super) struct Script<R, F> {
    entries: VecDeque<(R, F, usize)>,
}

impl<R, F> Default for Script<R, F> {
    fn default() -> Self {
        Self {
            entries: VecDeque::new(),
        }
    }
}

impl<R: RouteMatch, F: Clone> Script<R, F> {
    /// Queues `fault` for the next `count` requests matching `route`.
    pub(super) fn push(&mut self, route: R, fault: F, count: usize) {
        if count > 0 {
            self.entries.push_back((route, fault, count));
        }
    }

    /// The fault the next request on `route` must get, if any (consumes one of its count).
    pub(super) fn take(&mut self, route: R) -> Option<F> {
        let index = self.entries.iter().position(|(r, _, _)| r.covers(route))?;
        let entry = self.entries.get_mut(index)?;
        entry.2 -= 1;
        let fault = entry.1.clone();
        if entry.2 == 0 {
            self.entries.remove(index);
        }
        Some(fault)
    }

    pub(super) fn clear(&mut self) {
        self.entries.clear();
    }
}
