//! `Send + Sync` where threads exist. In a browser (wasm32 without atomics) WebGPU objects are
//! tied to the page's one thread and wgpu does not mark them `Send`/`Sync`; plans and caches
//! holding them are still fine there, because nothing can move them to another thread.

/// `Send + Sync` on native targets; every type on wasm32.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) trait Shareable: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> Shareable for T {}

/// `Send + Sync` on native targets; every type on wasm32.
#[cfg(target_arch = "wasm32")]
pub(crate) trait Shareable {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> Shareable for T {}

/// A type-erased value that can be shared where [`Shareable`] can.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type AnyShareable = dyn std::any::Any + Send + Sync;
/// A type-erased value that can be shared where [`Shareable`] can.
#[cfg(target_arch = "wasm32")]
pub(crate) type AnyShareable = dyn std::any::Any;
