//! How the middleware reaches the facilitator: a POST of a JSON body to `/verify` or `/settle`. The
//! Worker adapter sends it over a Service Binding or to a URL; tests call a facilitator in-process.

/// The facilitator's answer, whatever its status: `/settle` answers a refused payment with a body
/// that says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkReply {
    pub status: u16,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// No answer: the binding or URL failed, or timed out. The message names no secret.
    #[error("the facilitator could not be reached: {0}")]
    Unreachable(String),
}

/// A way to POST to the facilitator.
#[allow(async_fn_in_trait)] // single-threaded hosts (Workers); no Send bound wanted
pub trait FacilitatorLink {
    /// `path` is `/verify` or `/settle`; `body` is the JSON request.
    async fn post(&self, path: &'static str, body: String) -> Result<LinkReply, LinkError>;
}

impl<L: FacilitatorLink> FacilitatorLink for &L {
    async fn post(&self, path: &'static str, body: String) -> Result<LinkReply, LinkError> {
        (**self).post(path, body).await
    }
}
