//! A Rust Worker that sells its routes through x402-edge: `PAID_ROUTES` prices them, the payment is
//! verified in-process, and settled by the facilitator (Service Binding `FACILITATOR` or
//! `FACILITATOR_URL`) only after the handler answered 2xx.
#![cfg(target_arch = "wasm32")]

use serde_json::json;
use worker::{event, Context, Env, Request, Response, Result};
use x402_edge::server::worker::{protect, WorkerLink};
use x402_edge::server::{Paywall, Routes};

#[event(fetch)]
async fn fetch(request: Request, env: Env, _ctx: Context) -> Result<Response> {
    let routes = env.var("PAID_ROUTES")?.to_string();
    let routes = Routes::from_json(&routes)?;
    let paywall = Paywall::new(routes, WorkerLink::from_env(&env)?);
    protect(&paywall, request, handle).await
}

/// The API being sold; it knows nothing of payments.
async fn handle(request: Request) -> Result<Response> {
    match request.path().as_str() {
        "/premium" => Response::from_json(&json!({"report": "the premium report", "served_by": "rust"})),
        "/broken" => Response::error("the origin failed", 500),
        "/free" => Response::ok("free"),
        _ => Response::error("not found", 404),
    }
}
