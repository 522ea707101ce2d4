//! The middleware for workers-rs: [`protect`] runs a handler behind a [`Paywall`], and [`WorkerLink`]
//! reaches the facilitator over a Service Binding (`FACILITATOR`: no public hop) or a URL
//! (`FACILITATOR_URL`), with the `FACILITATOR_API_KEY` secret as its bearer key.

use std::future::Future;
use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::pin_mut;
use worker::{Delay, Env, Fetch, Fetcher, Headers, Method, Request, RequestInit, Response};

use super::{Admission, FacilitatorLink, Incoming, LinkError, LinkReply, Paywall, Reply};

/// Where the facilitator is.
enum Target {
    Binding(Fetcher),
    Url(String),
}

/// The facilitator as a Rust Worker reaches it.
pub struct WorkerLink {
    target: Target,
    api_key: Option<String>,
    timeout: Duration,
}

impl WorkerLink {
    /// The `FACILITATOR` Service Binding when the Worker has one, else the `FACILITATOR_URL` variable;
    /// the `FACILITATOR_API_KEY` secret when set.
    pub fn from_env(env: &Env) -> worker::Result<WorkerLink> {
        let target = match env.service("FACILITATOR") {
            Ok(binding) => Target::Binding(binding),
            Err(_) => {
                let url = env.var("FACILITATOR_URL").map_err(|_| {
                    worker::Error::RustError("set a FACILITATOR Service Binding or the FACILITATOR_URL variable".into())
                })?;
                Target::Url(url.to_string().trim_end_matches('/').to_string())
            }
        };
        let api_key = env.secret("FACILITATOR_API_KEY").ok().map(|s| s.to_string());
        Ok(WorkerLink { target, api_key, timeout: Duration::from_secs(30) })
    }

    /// How long a facilitator call may take before it counts as unreachable (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> WorkerLink {
        self.timeout = timeout;
        self
    }

    fn request(&self, path: &str, body: String) -> worker::Result<Request> {
        let headers = Headers::new();
        headers.set("content-type", "application/json")?;
        if let Some(key) = &self.api_key {
            headers.set("authorization", &format!("Bearer {key}"))?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_headers(headers).with_body(Some(body.into()));
        let url = match &self.target {
            // A binding ignores the host; the path routes.
            Target::Binding(_) => format!("https://facilitator{path}"),
            Target::Url(base) => format!("{base}{path}"),
        };
        Request::new_with_init(&url, &init)
    }

    async fn send(&self, request: Request) -> worker::Result<LinkReply> {
        let mut response = match &self.target {
            Target::Binding(binding) => binding.fetch_request(request).await?,
            Target::Url(_) => Fetch::Request(request).send().await?,
        };
        Ok(LinkReply { status: response.status_code(), body: response.bytes().await? })
    }
}

impl FacilitatorLink for WorkerLink {
    async fn post(&self, path: &'static str, body: String) -> Result<LinkReply, LinkError> {
        // Errors name the path only: never the URL's query or the key.
        let failed = |e: worker::Error| LinkError::Unreachable(format!("POST {path}: {e}"));
        let request = self.request(path, body).map_err(failed)?;
        let sent = self.send(request);
        let timer = Delay::from(self.timeout);
        pin_mut!(sent);
        match select(sent, timer).await {
            Either::Left((reply, _)) => reply.map_err(failed),
            Either::Right(_) => Err(LinkError::Unreachable(format!("POST {path}: no answer in {:?}", self.timeout))),
        }
    }
}

/// Runs `handler` behind `paywall`: a free route runs as is; an unpaid or refused payment gets the
/// 402 (the handler does not run); a verified one runs the handler and, when it answered 2xx, settles
/// and adds `PAYMENT-RESPONSE`. A handler answer other than 2xx is returned unsettled: nothing is
/// charged for a failed call. A payment that does not settle replaces the handler's answer with a 402.
pub async fn protect<F, Fut>(paywall: &Paywall<WorkerLink>, request: Request, handler: F) -> worker::Result<Response>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = worker::Result<Response>>,
{
    let url = request.url()?;
    let method = request.method().to_string();
    let signature = request.headers().get(super::PAYMENT_SIGNATURE)?;
    let x_payment = request.headers().get(super::X_PAYMENT)?;
    let incoming = Incoming {
        method: &method,
        path: url.path(),
        url: url.as_str(),
        payment_signature: signature.as_deref(),
        x_payment: x_payment.as_deref(),
        now_secs: (js_sys::Date::now() / 1000.0) as u64,
    };
    let admitted = match paywall.admit(&incoming).await {
        Admission::Free => return handler(request).await,
        Admission::Refused(reply) => return response_of(reply),
        Admission::Admitted(admitted) => admitted,
    };
    let response = handler(request).await?;
    if !(200..300).contains(&response.status_code()) {
        return Ok(response);
    }
    match paywall.settle(&admitted).await {
        Ok(receipt) => {
            let headers = response.headers().clone();
            for (name, value) in receipt {
                headers.set(name, &value)?;
            }
            headers.append("access-control-expose-headers", super::PAYMENT_RESPONSE)?;
            Ok(response.with_headers(headers))
        }
        Err(reply) => response_of(reply),
    }
}

fn response_of(reply: Reply) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in &reply.headers {
        headers.set(name, value)?;
    }
    headers.set("access-control-expose-headers", "PAYMENT-REQUIRED, PAYMENT-RESPONSE")?;
    Ok(Response::ok(reply.body)?.with_status(reply.status).with_headers(headers))
}

/// `?` on route configuration inside a Worker's handler.
impl From<super::RouteError> for worker::Error {
    fn from(e: super::RouteError) -> Self {
        worker::Error::RustError(format!("paid routes: {e}"))
    }
}
