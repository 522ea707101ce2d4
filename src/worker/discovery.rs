//! The discovery catalog in D1 (`DISCOVERY_DB`): entries written beside a successful settle
//! (`wait_until`), and `GET /discovery/resources` / `GET /discovery/search` answered from it. What an
//! entry is and how queries parse is `crate::discovery`; this is storage and SQL.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Deserialize;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use worker::{console_error, D1Database, Env, Response};

use crate::discovery::{list_json, search_json, CatalogEntry, CatalogQuery};
use crate::protocol::cronos::iso8601_millis;

pub(super) const BINDING: &str = "DISCOVERY_DB";

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS x402_discovery (\
    resource TEXT PRIMARY KEY, kind TEXT NOT NULL, x402_version INTEGER NOT NULL, accepted TEXT NOT NULL, \
    description TEXT, mime_type TEXT, service_name TEXT, tags TEXT NOT NULL, icon_url TEXT, extensions TEXT NOT NULL, \
    extension_keys TEXT NOT NULL, pay_to TEXT NOT NULL, scheme TEXT NOT NULL, network TEXT NOT NULL, \
    amount TEXT NOT NULL, search_text TEXT NOT NULL, updated_ms INTEGER NOT NULL)";
const COLUMNS: &str =
    "resource, kind, x402_version, accepted, description, mime_type, service_name, tags, icon_url, extensions, updated_ms";

/// The table exists in this isolate (created once; `IF NOT EXISTS` makes a repeat harmless).
static MIGRATED: AtomicBool = AtomicBool::new(false);

pub(super) struct Catalog {
    db: D1Database,
}

#[derive(Deserialize)]
struct Row {
    resource: String,
    kind: String,
    x402_version: u8,
    accepted: String,
    description: Option<String>,
    mime_type: Option<String>,
    service_name: Option<String>,
    tags: String,
    icon_url: Option<String>,
    extensions: String,
    updated_ms: f64,
}

impl Row {
    fn into_json(self) -> Value {
        let entry = CatalogEntry {
            resource: self.resource,
            kind: self.kind,
            x402_version: self.x402_version,
            accepted: serde_json::from_str(&self.accepted).unwrap_or(Value::Null),
            description: self.description,
            mime_type: self.mime_type,
            service_name: self.service_name,
            tags: serde_json::from_str(&self.tags).unwrap_or_default(),
            icon_url: self.icon_url,
            extensions: serde_json::from_str(&self.extensions).unwrap_or(Value::Null),
        };
        entry.to_json(&iso8601_millis(self.updated_ms as u64))
    }
}

impl Catalog {
    /// The catalog, when the Worker has the `DISCOVERY_DB` binding.
    pub(super) fn of(env: &Env) -> Option<Catalog> {
        env.d1(BINDING).ok().map(|db| Catalog { db })
    }

    async fn migrate(&self) -> worker::Result<()> {
        if !MIGRATED.load(Ordering::Relaxed) {
            self.db.prepare(SCHEMA).run().await?;
            MIGRATED.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Adds or refreshes `entry` (one row per resource: the latest settle's declaration wins).
    pub(super) async fn record(&self, entry: &CatalogEntry, now_ms: u64) -> worker::Result<()> {
        self.migrate().await?;
        let text = |s: &str| JsValue::from_str(s);
        let optional = |s: &Option<String>| s.as_deref().map_or(JsValue::NULL, JsValue::from_str);
        let values = [
            text(&entry.resource),
            text(&entry.kind),
            JsValue::from_f64(f64::from(entry.x402_version)),
            text(&entry.accepted.to_string()),
            optional(&entry.description),
            optional(&entry.mime_type),
            optional(&entry.service_name),
            text(&json!(entry.tags).to_string()),
            optional(&entry.icon_url),
            text(&entry.extensions.to_string()),
            text(&entry.extension_keys()),
            text(entry.accepted_text("payTo")),
            text(entry.accepted_text("scheme")),
            text(entry.accepted_text("network")),
            text(&entry.amount_key()),
            text(&entry.search_text()),
            JsValue::from_f64(now_ms as f64),
        ];
        let sql = "INSERT INTO x402_discovery (resource, kind, x402_version, accepted, description, mime_type, \
            service_name, tags, icon_url, extensions, extension_keys, pay_to, scheme, network, amount, search_text, \
            updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (resource) DO UPDATE SET \
            kind = excluded.kind, x402_version = excluded.x402_version, accepted = excluded.accepted, \
            description = excluded.description, mime_type = excluded.mime_type, service_name = excluded.service_name, \
            tags = excluded.tags, icon_url = excluded.icon_url, extensions = excluded.extensions, \
            extension_keys = excluded.extension_keys, pay_to = excluded.pay_to, scheme = excluded.scheme, \
            network = excluded.network, amount = excluded.amount, search_text = excluded.search_text, \
            updated_ms = excluded.updated_ms";
        self.db.prepare(sql).bind(&values)?.run().await?;
        Ok(())
    }

    /// The page `query` asks for (newest first) and how many match in all.
    async fn list(&self, query: &CatalogQuery) -> worker::Result<(Vec<Value>, u64)> {
        self.migrate().await?;
        let (filter, mut params) = filters(query);
        #[derive(Deserialize)]
        struct Count {
            n: f64,
        }
        let counted = self.db.prepare(format!("SELECT COUNT(*) AS n FROM x402_discovery{filter}")).bind(&params)?;
        let total = counted.first::<Count>(None).await?.map_or(0, |c| c.n as u64);
        params.extend([JsValue::from_f64(f64::from(query.limit)), JsValue::from_f64(f64::from(query.offset))]);
        let sql =
            format!("SELECT {COLUMNS} FROM x402_discovery{filter} ORDER BY updated_ms DESC, resource LIMIT ? OFFSET ?");
        let rows = self.db.prepare(sql).bind(&params)?.all().await?.results::<Row>()?;
        Ok((rows.into_iter().map(Row::into_json).collect(), total))
    }

    /// The page of a search and whether more matched (one row more is read to tell).
    async fn search(&self, query: &CatalogQuery) -> worker::Result<(Vec<Value>, bool)> {
        self.migrate().await?;
        let (filter, mut params) = filters(query);
        params.extend([JsValue::from_f64(f64::from(query.limit) + 1.0), JsValue::from_f64(f64::from(query.offset))]);
        let sql =
            format!("SELECT {COLUMNS} FROM x402_discovery{filter} ORDER BY updated_ms DESC, resource LIMIT ? OFFSET ?");
        let mut rows = self.db.prepare(sql).bind(&params)?.all().await?.results::<Row>()?;
        let more = rows.len() > query.limit as usize;
        rows.truncate(query.limit as usize);
        Ok((rows.into_iter().map(Row::into_json).collect(), more))
    }
}

/// The WHERE clause of `query` from fixed fragments, with its values bound (never spliced into SQL).
fn filters(query: &CatalogQuery) -> (String, Vec<JsValue>) {
    let mut parts: Vec<&str> = Vec::new();
    let mut params: Vec<JsValue> = Vec::new();
    let mut add = |fragment: &'static str, value: String| {
        parts.push(fragment);
        params.push(JsValue::from_str(&value));
    };
    let fields = [
        ("kind = ?", &query.kind),
        ("pay_to = ?", &query.pay_to),
        ("scheme = ?", &query.scheme),
        ("network = ?", &query.network),
        ("amount >= ?", &query.min_amount),
        ("amount <= ?", &query.max_amount),
    ];
    for (fragment, value) in fields {
        if let Some(v) = value {
            add(fragment, v.clone());
        }
    }
    if let Some(key) = &query.extension {
        add("extension_keys LIKE ? ESCAPE '\\'", format!("%,{},%", like_escaped(key)));
    }
    for word in &query.words {
        add("search_text LIKE ? ESCAPE '\\'", format!("%{}%", like_escaped(word)));
    }
    let filter = if parts.is_empty() { String::new() } else { format!(" WHERE {}", parts.join(" AND ")) };
    (filter, params)
}

fn like_escaped(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Answers `GET /discovery/resources` and `GET /discovery/search`; None for any other path.
pub(super) async fn serve(env: &Env, method: &str, path: &str, query: &str) -> Option<worker::Result<Response>> {
    let search = match path.trim_end_matches('/') {
        "/discovery/resources" => false,
        "/discovery/search" => true,
        _ => return None,
    };
    Some(answer(env, method, query, search).await)
}

async fn answer(env: &Env, method: &str, query: &str, search: bool) -> worker::Result<Response> {
    if method != "GET" {
        return reply(405, json!({"error": "method_not_allowed", "message": "GET only"}));
    }
    let Some(catalog) = Catalog::of(env) else {
        return reply(
            404,
            json!({"error": "discovery_off", "message": "this facilitator keeps no catalog (no DISCOVERY_DB binding)"}),
        );
    };
    let parsed = match CatalogQuery::parse(query, search) {
        Ok(q) => q,
        Err(e) => {
            return reply(400, json!({"error": "invalid_query", "parameter": e.parameter, "message": e.to_string()}))
        }
    };
    let body = if search {
        catalog.search(&parsed).await.map(|(items, more)| search_json(items, &parsed, more))
    } else {
        catalog.list(&parsed).await.map(|(items, total)| list_json(items, &parsed, total))
    };
    match body {
        Ok(body) => reply(200, body),
        Err(e) => {
            console_error!("discovery: the catalog query failed: {e}");
            reply(503, json!({"error": "discovery_unavailable", "message": "the catalog did not answer"}))
        }
    }
}

fn reply(status: u16, body: Value) -> worker::Result<Response> {
    let headers = worker::Headers::new();
    for (name, value) in crate::api::CORS_HEADERS {
        headers.set(name, value)?;
    }
    headers.set("content-type", "application/json")?;
    Ok(Response::ok(body.to_string())?.with_status(status).with_headers(headers))
}

/// Catalogues what a successful `POST /settle` declared, beside the response (never delaying it).
pub(super) fn after_settle(env: &Env, ctx: &worker::Context, request_body: &[u8], now_ms: u64) {
    let Some(catalog) = Catalog::of(env) else { return };
    let Some(entry) =
        serde_json::from_slice::<Value>(request_body).ok().as_ref().and_then(crate::discovery::entry_from_settle)
    else {
        return;
    };
    ctx.wait_until(async move {
        if let Err(e) = catalog.record(&entry, now_ms).await {
            console_error!("discovery: an entry was not recorded: {e}");
        }
    });
}
