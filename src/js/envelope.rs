//! The answer envelope and the one error type of the bindings, mapped to wire codes through
//! [`Reason`] (never a second table).

use serde::Serialize;
use serde_json::{json, Value};

use crate::chains::evm::signature::SignatureError;
use crate::protocol::normalize::RequestError;
use crate::protocol::{Reason, Version};

/// Why a binding refused its input. Each variant maps to one [`Reason`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BindingError {
    /// The request could not be normalized (the facilitator answers these with HTTP 400).
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("{0} is not valid JSON")]
    NotJson(&'static str),
    #[error("invalid {0}")]
    Field(&'static str),
    #[error("invalid signature: {0}")]
    Signature(#[from] SignatureError),
    /// SNIP-12 typed data that cannot be hashed.
    #[error("invalid typed data: {0}")]
    TypedData(String),
    /// A chain family the other package of this repository verifies.
    #[error("{payments} payments are verified by {package}, not by this package")]
    InOtherPackage { payments: &'static str, package: &'static str },
    /// A scheme the facilitator serves but this package does not verify yet.
    #[error("`{0}` payments are not verified by this package yet; the facilitator verifies them")]
    NotInPackage(String),
}

impl BindingError {
    pub fn reason(&self) -> Reason {
        match self {
            BindingError::Request(e) => e.reason(),
            BindingError::NotJson(_) | BindingError::Field(_) | BindingError::TypedData(_) => Reason::InvalidPayload,
            BindingError::Signature(_) => Reason::EvmSignature,
            BindingError::NotInPackage(_) | BindingError::InOtherPackage { .. } => Reason::UnsupportedScheme,
        }
    }
}

/// `{"ok":true,"value":…}`.
pub fn ok<T: Serialize>(value: T) -> String {
    #[derive(Serialize)]
    struct Answer<T> {
        ok: bool,
        value: T,
    }
    // JSON values and derived structs of strings, numbers and booleans always serialize; were one not
    // to, the wrapper still gets an envelope it can read.
    serde_json::to_string(&Answer { ok: true, value }).unwrap_or_else(|_| {
        let reason = Reason::UnexpectedVerifyError.code(Version::V2);
        json!({"ok": false, "reason": reason, "message": "the answer could not be serialized"}).to_string()
    })
}

/// `{"ok":false,"reason":…,"message":…}` with the reason code of `version`.
pub fn err(error: &BindingError, version: Version) -> String {
    json!({"ok": false, "reason": error.reason().code(version), "message": error.to_string()}).to_string()
}

/// Either envelope.
pub fn answer<T: Serialize>(result: Result<T, BindingError>, version: Version) -> String {
    match result {
        Ok(value) => ok(value),
        Err(e) => err(&e, version),
    }
}

/// JSON text from the wrapper (it always sends `JSON.stringify` output, but trust nothing).
pub fn parse_json(text: &str, what: &'static str) -> Result<Value, BindingError> {
    parse_json_as(text, what, BindingError::NotJson(what))
}

/// JSON text read straight into a `T`: malformed JSON is `NotJson(what)`, JSON of another shape `shape`.
pub fn parse_json_as<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &'static str,
    shape: BindingError,
) -> Result<T, BindingError> {
    serde_json::from_slice(text.as_bytes()).map_err(|e| if e.is_data() { shape } else { BindingError::NotJson(what) })
}
