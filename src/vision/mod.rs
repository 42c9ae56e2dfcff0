//! Vision on top of the engine: template matching, registration, peaks and window sums.
//! This folder keeps the maths; the [`Engine`](crate::Engine) chooses where it runs.

pub(crate) mod inputs;
pub mod masked;
pub mod masked_registration;
pub mod matching;
pub mod peaks;
pub mod registration;
pub(crate) mod upsample;
pub mod window_sums;
