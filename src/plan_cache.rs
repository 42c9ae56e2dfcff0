//! A small cache of built plans, so repeated one-shot calls of the same shapes skip FFT
//! planning and reuse their work buffers (as rustfft's planner caches its FFTs).

use crate::shareable::{AnyShareable, Shareable};
use crate::spec::Plan;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Plans kept at most; past that the cache starts over. Big plans hold big work buffers
/// (about 100 MB for two 2048² inputs in `full` mode), so the count stays small.
const CAPACITY: usize = 8;

/// The shapes, the plan type, and a number for whatever else the type's plans depend on.
type Key = (Plan, TypeId, u64);

/// Shared between clones of an engine.
#[derive(Clone, Default)]
pub(crate) struct PlanCache {
    // Each entry is an `Arc<P>` behind `Box<dyn Any>`: `Arc<dyn Any>` can only be downcast
    // when it is `Send + Sync`, which WebGPU plans are not on wasm32.
    plans: Arc<Mutex<HashMap<Key, Box<AnyShareable>>>>,
}

impl PlanCache {
    /// The cached plan of type `P` for `plan`, built by `build` on a miss.
    pub(crate) fn get_or_build<P, E>(
        &self,
        plan: &Plan,
        build: impl FnOnce() -> Result<P, E>,
    ) -> Result<Arc<P>, E>
    where
        P: Any + Shareable,
    {
        self.get_or_build_with(plan, 0, build)
    }

    /// [`get_or_build`](Self::get_or_build) for plans that depend on more than the shapes:
    /// `extra` tells them apart.
    pub(crate) fn get_or_build_with<P, E>(
        &self,
        plan: &Plan,
        extra: u64,
        build: impl FnOnce() -> Result<P, E>,
    ) -> Result<Arc<P>, E>
    where
        P: Any + Shareable,
    {
        let key = (*plan, TypeId::of::<P>(), extra);
        if let Some(found) = self.plans.lock().expect("plan cache lock").get(&key) {
            return Ok(Arc::clone(
                found.downcast_ref::<Arc<P>>().expect("keyed by type"),
            ));
        }
        // Build outside the lock: planning a large GPU job takes a while.
        let built = Arc::new(build()?);
        let mut plans = self.plans.lock().expect("plan cache lock");
        if plans.len() >= CAPACITY {
            plans.clear();
        }
        plans.insert(key, Box::new(built.clone()));
        Ok(built)
    }
}
