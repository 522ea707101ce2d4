//! What is on the wire (v1, v2 and the Cronos dialect), the header codec, and the one normalized model
//! every scheme works on.

pub mod amount;
pub mod cronos;
pub mod fields;
pub mod header;
pub mod model;
pub mod normalize;
pub mod query;
pub mod reason;
pub mod response;
pub mod v1;
pub mod v2;

pub use model::{Dialect, Version};
pub use reason::Reason;
