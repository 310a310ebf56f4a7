//! The critical path of a build: the chain of actions that decided its
//! wall time. It ends at the action that finished last; before each action
//! on it comes the dependency that finished last (the one it was waiting
//! for), back to an action that waited for nothing.

use std::collections::HashMap;

use super::ActionTiming;

/// The ids of the critical path, first action first. Ties go to the lower
/// id; dependencies that did not finish (not in `actions`) are skipped.
pub fn critical_path(actions: &[ActionTiming]) -> Vec<usize> {
    let by_id: HashMap<usize, &ActionTiming> = actions.iter().map(|a| (a.id, a)).collect();
    // Latest finish wins; on a tie the lower id.
    let later =
        |a: &&ActionTiming, b: &&ActionTiming| a.finish.total_cmp(&b.finish).then(b.id.cmp(&a.id));
    let Some(mut cur) = actions.iter().max_by(later) else {
        return Vec::new();
    };
    let mut path = vec![cur.id];
    while let Some(prev) = cur
        .deps
        .iter()
        .filter_map(|d| by_id.get(d))
        .max_by(|a, b| later(a, b))
    {
        path.push(prev.id);
        cur = prev;
    }
    path.reverse();
    path
}

#[cfg(test)]
mod tests {
    use super::super::tests::act;
    use super::*;

    #[test]
    fn the_path_follows_the_dependency_that_finished_last() {
        // 0 ─┬─> 2 ──> 4 (finishes last)
        // 1 ─┘    3 ──┘
        // 2 waited for 0 (done at 1.0) and 1 (done at 2.0): 1 decided it;
        // 4 waited for 2 (done at 3.0) and 3 (done at 2.5).
        let a = vec![
            act(0, &[], 0.0, 1.0, 0),
            act(1, &[], 0.0, 2.0, 1),
            act(2, &[0, 1], 2.0, 3.0, 0),
            act(3, &[], 1.0, 2.5, 1),
            act(4, &[2, 3], 3.0, 4.0, 0),
            // Independent, finishes before the end.
            act(5, &[], 2.5, 3.5, 1),
        ];
        assert_eq!(critical_path(&a), vec![1, 2, 4]);
    }

    #[test]
    fn ties_and_missing_dependencies() {
        assert_eq!(critical_path(&[]), Vec::<usize>::new());
        // Two actions finish at once: the lower id ends the path; a
        // dependency that never finished (9) is not on it.
        let a = vec![act(3, &[9], 0.0, 1.0, 0), act(1, &[], 0.0, 1.0, 1)];
        assert_eq!(critical_path(&a), vec![1]);
        let a = vec![act(0, &[], 0.0, 1.0, 0), act(2, &[0, 9], 1.0, 2.0, 0)];
        assert_eq!(critical_path(&a), vec![0, 2]);
    }
}
