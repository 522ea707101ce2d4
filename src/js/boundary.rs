//! Benchmark only (feature `js-boundary-bench`, never in a package): `verifyOffline` with its inputs
//! taken as JS objects through `serde-wasm-bindgen` instead of as JSON text, so that
//! `benches/wasm/boundary.bench.mjs` can measure the two ways across the JS boundary on the same
//! request, in speed and in wasm size. The packages keep the one that wins (JSON text; see
//! js-bindings/README.md, "The JS boundary").

use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::envelope::{err, BindingError};
use crate::protocol::Version;

fn value(object: JsValue, what: &'static str) -> Result<Value, String> {
    serde_wasm_bindgen::from_value(object).map_err(|_| err(&BindingError::NotJson(what), Version::V2))
}

/// `verifyOffline` of a payload and requirements passed as JS objects.
#[wasm_bindgen(js_name = verifyOfflineFromObjects)]
pub fn verify_offline_from_objects(payload: JsValue, requirements: JsValue, now_secs: f64) -> String {
    match value(payload, "payload").and_then(|p| Ok((p, value(requirements, "requirements")?))) {
        Ok((payload, requirements)) => super::verify::verify_offline_values(payload, requirements, now_secs),
        Err(envelope) => envelope,
    }
}
