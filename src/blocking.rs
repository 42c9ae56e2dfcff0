//! The blocking API over the async one: each operation is written once, as a future, and the
//! blocking call waits for it here.

use crate::error::Result;
use std::future::Future;

/// Run `future` to its end on this thread.
///
/// With a GPU on a native target this parks the thread until the device is done (pollster).
/// Without one, xcorr's futures never suspend (the CPU path has nothing to wait for), so one
/// poll finishes them; a future that would have to wait for WebGPU — which only answers once
/// the browser's event loop runs again — is refused with an error naming the async call,
/// instead of the panic a blocking wait would be there.
pub(crate) fn wait<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
    {
        pollster::block_on(future)
    }
    #[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
    {
        use std::task::{Context, Poll, Waker};
        let mut future = std::pin::pin!(future);
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(out) => out,
            Poll::Pending => Err(crate::error::Error::BackendUnavailable(
                "a blocking call cannot wait for the GPU in a browser: use the `_async` \
                 version of this call"
                    .into(),
            )),
        }
    }
}
