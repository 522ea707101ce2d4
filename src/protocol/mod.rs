//! What is on the wire (v1, v2 and the Cronos dialect), the header codec, and the one normalized model
//! every scheme works on. The v1 and v2 schemas are read field by field from the one parsed body
//! (`normalize::read_payment_payload`, `normalize::read_requirements`, over [`fields`]).

pub mod amount;
pub mod cronos;
pub mod fields;
pub mod header;
pub mod model;
pub mod normalize;
pub mod query;
pub mod reason;
pub mod response;

pub use model::{Dialect, Version};
pub use reason::Reason;
