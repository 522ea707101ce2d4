//! Discovery (the x402 `bazaar` extension): the catalog of paid resources the facilitator builds from
//! what it settles, in the shape `@x402/extensions`' bazaar client reads (`GET /discovery/resources`,
//! `GET /discovery/search`). Pure: the entry a settle request declares, the query a client sends, the
//! answer's JSON. The worker stores entries (D1) and runs the queries.
//!
//! Only a settled payment adds or refreshes an entry, so the catalog costs its declarers a real payment
//! to someone else (the facilitator refuses self-payments). An entry is what the resource server
//! declared in its 402 and the client echoed: validated for shape and size here, not against its JSON
//! Schema.

use serde_json::{json, Map, Value};

/// The extension's key in `extensions`.
pub const BAZAAR: &str = "bazaar";
/// Larger declarations are not catalogued.
const MAX_EXTENSIONS_BYTES: usize = 16 * 1024;
const MAX_URL_LEN: usize = 2048;
const MAX_TEXT_LEN: usize = 1024;
const MAX_SERVICE_NAME_LEN: usize = 32;
const MAX_TAG_LEN: usize = 32;
const MAX_TAGS: usize = 5;
/// `limit` of a list or search: default and most.
pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// Amounts are stored left-padded to this many digits, so that text order is numeric order (uint256).
pub const AMOUNT_DIGITS: usize = 78;

/// One catalogued resource.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogEntry {
    /// Origin and path (or the declared route template): one entry per resource, whatever its query.
    pub resource: String,
    /// `http` or `mcp`.
    pub kind: String,
    pub x402_version: u8,
    /// The requirements the settled payment met.
    pub accepted: Value,
    pub description: Option<String>,
    pub mime_type: Option<String>,
    pub service_name: Option<String>,
    pub tags: Vec<String>,
    pub icon_url: Option<String>,
    /// The payment's `extensions` (the bazaar declaration and any other).
    pub extensions: Value,
}

/// The price the requirements name (v2 `amount`, v1 `maxAmountRequired`).
fn price(accepted: &Value) -> Option<&str> {
    accepted.get("amount").or_else(|| accepted.get("maxAmountRequired")).and_then(Value::as_str)
}

impl CatalogEntry {
    /// A field of the accepted requirements (`payTo`, `scheme`, `network`), for filters.
    pub fn accepted_text(&self, field: &str) -> &str {
        self.accepted.get(field).and_then(Value::as_str).unwrap_or_default()
    }

    /// The price in base units, padded to [`AMOUNT_DIGITS`] digits (text order is numeric order).
    pub fn amount_key(&self) -> String {
        price(&self.accepted).and_then(padded_amount).unwrap_or_default()
    }

    /// The extension keys it carries, as `,a,b,` (so that a key is matched as `%,key,%`).
    pub fn extension_keys(&self) -> String {
        let keys: Vec<&str> =
            self.extensions.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
        format!(",{},", keys.join(","))
    }

    /// Lower-case text a search matches: the resource, its description, service name and tags.
    pub fn search_text(&self) -> String {
        [Some(self.resource.as_str()), self.description.as_deref(), self.service_name.as_deref()]
            .into_iter()
            .flatten()
            .chain(self.tags.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }

    /// As the bazaar client reads it; `last_updated` is ISO 8601.
    pub fn to_json(&self, last_updated: &str) -> Value {
        let mut object = Map::new();
        object.insert("resource".into(), json!(self.resource));
        object.insert("type".into(), json!(self.kind));
        object.insert("x402Version".into(), json!(self.x402_version));
        object.insert("accepts".into(), json!([self.accepted]));
        object.insert("lastUpdated".into(), json!(last_updated));
        object.insert("extensions".into(), self.extensions.clone());
        let optional = [
            ("description", &self.description),
            ("mimeType", &self.mime_type),
            ("serviceName", &self.service_name),
            ("iconUrl", &self.icon_url),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                object.insert(key.into(), json!(v));
            }
        }
        if !self.tags.is_empty() {
            object.insert("tags".into(), json!(self.tags));
        }
        Value::Object(object)
    }
}

/// The catalog entry a settle request declares (x402 v2 with a `bazaar` extension), or None.
pub fn entry_from_settle(body: &Value) -> Option<CatalogEntry> {
    let payload = body.get("paymentPayload")?;
    if payload.get("x402Version")?.as_u64()? != 2 {
        return None;
    }
    let extensions = payload.get("extensions")?.as_object()?;
    let info = extensions.get(BAZAAR)?.get("info")?;
    let kind = info.get("input")?.get("type")?.as_str()?;
    if kind != "http" && kind != "mcp" {
        return None;
    }
    if serde_json::to_string(extensions).ok()?.len() > MAX_EXTENSIONS_BYTES {
        return None;
    }
    let resource = payload.get("resource")?;
    let declared = extensions.get(BAZAAR).and_then(|b| b.get("routeTemplate")).and_then(Value::as_str);
    let url = canonical_url(resource.get("url")?.as_str()?, declared)?;
    let accepted = body.get("paymentRequirements").filter(|r| r.is_object()).or_else(|| payload.get("accepted"))?;
    let text = |v: Option<&Value>, max: usize| {
        v.and_then(Value::as_str).filter(|s| !s.is_empty() && s.len() <= max).map(str::to_string)
    };
    // The requirements must name who is paid, how, where and how much: the catalog filters on them.
    text(accepted.get("payTo"), 128)?;
    text(accepted.get("scheme"), 64)?;
    text(accepted.get("network"), 128)?;
    padded_amount(price(accepted)?)?;
    Some(CatalogEntry {
        resource: url,
        kind: kind.to_string(),
        x402_version: 2,
        accepted: accepted.clone(),
        description: text(resource.get("description"), MAX_TEXT_LEN),
        mime_type: text(resource.get("mimeType"), 128),
        service_name: text(resource.get("serviceName"), MAX_SERVICE_NAME_LEN).filter(|s| printable(s)),
        tags: tags(resource.get("tags")),
        icon_url: text(resource.get("iconUrl"), MAX_URL_LEN).filter(|u| canonical_url(u, None).is_some()),
        extensions: Value::Object(extensions.clone()),
    })
}

fn printable(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Printable tags of at most 32 characters, five at most, without case-insensitive repeats.
fn tags(value: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in value.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        let fresh = !out.iter().any(|t| t.eq_ignore_ascii_case(tag));
        if !tag.is_empty() && tag.len() <= MAX_TAG_LEN && printable(tag) && fresh {
            out.push(tag.to_string());
        }
        if out.len() == MAX_TAGS {
            break;
        }
    }
    out
}

/// `scheme://host[:port]` plus the path (or a route template `/…` when declared), without query or
/// fragment; None unless it is an http(s) URL without credentials or control characters.
pub fn canonical_url(url: &str, route_template: Option<&str>) -> Option<String> {
    if url.len() > MAX_URL_LEN || url.chars().any(char::is_control) {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..end];
    if host.is_empty() || host.contains('@') || host.contains(char::is_whitespace) {
        return None;
    }
    let path_end = rest[end..].find(['?', '#']).map_or(rest.len(), |i| end + i);
    let path = match route_template {
        Some(t) if t.starts_with('/') && t.len() <= 512 && !t.contains("..") && !t.contains(['?', '#', ' ']) => t,
        _ if end == path_end => "/",
        _ => &rest[end..path_end],
    };
    Some(format!("{}://{}{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase(), path))
}

/// A base-unit amount left-padded to [`AMOUNT_DIGITS`], or None when it is not a decimal integer that fits.
pub fn padded_amount(amount: &str) -> Option<String> {
    let valid = !amount.is_empty() && amount.len() <= AMOUNT_DIGITS && amount.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| format!("{amount:0>AMOUNT_DIGITS$}"))
}

/// A list or search request's filters and page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogQuery {
    /// Lower-case words every match contains (search only).
    pub words: Vec<String>,
    pub kind: Option<String>,
    pub pay_to: Option<String>,
    pub scheme: Option<String>,
    pub network: Option<String>,
    pub extension: Option<String>,
    /// Price range in base units, padded ([`padded_amount`]); both inclusive.
    pub min_amount: Option<String>,
    pub max_amount: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

/// A malformed parameter: 400 with its name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {reason}")]
pub struct QueryError {
    pub parameter: String,
    pub reason: &'static str,
}

impl CatalogQuery {
    /// Parses `/discovery/resources` (`search` false) or `/discovery/search` (`search` true: `query`
    /// required, `cursor` is the offset of the next page). Unknown parameters are ignored.
    pub fn parse(query: &str, search: bool) -> Result<CatalogQuery, QueryError> {
        let mut q = CatalogQuery { limit: DEFAULT_LIMIT, ..CatalogQuery::default() };
        let mut text = None;
        for (key, value) in crate::protocol::query::pairs(query) {
            let bad = |reason| QueryError { parameter: key.clone(), reason };
            let short = |v: &str| {
                (!v.is_empty() && v.len() <= 256).then(|| v.to_string()).ok_or(bad("from 1 to 256 characters"))
            };
            match key.as_str() {
                "type" => q.kind = Some(short(&value)?),
                "payTo" => q.pay_to = Some(short(&value)?),
                "scheme" => q.scheme = Some(short(&value)?),
                "network" => q.network = Some(short(&value)?),
                "extensions" => {
                    let key = short(&value)?;
                    if key.contains(',') {
                        return Err(bad("one extension key"));
                    }
                    q.extension = Some(key);
                }
                "minAmount" => q.min_amount = Some(padded_amount(&value).ok_or(bad("base units, a decimal integer"))?),
                "maxAmount" => q.max_amount = Some(padded_amount(&value).ok_or(bad("base units, a decimal integer"))?),
                "limit" => {
                    q.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or(bad("an integer from 1 to 100"))?
                }
                "offset" if !search => q.offset = value.parse().map_err(|_| bad("a whole number"))?,
                "cursor" if search => q.offset = value.parse().map_err(|_| bad("a cursor this API gave"))?,
                "query" if search => text = Some(short(&value)?),
                _ => {}
            }
        }
        if search {
            let text = text.ok_or(QueryError { parameter: "query".into(), reason: "required" })?;
            q.words = text.to_lowercase().split_whitespace().take(8).map(str::to_string).collect();
        }
        Ok(q)
    }
}

/// `GET /discovery/resources`' answer.
pub fn list_json(items: Vec<Value>, query: &CatalogQuery, total: u64) -> Value {
    json!({
        "x402Version": 2,
        "items": items,
        "pagination": {"limit": query.limit, "offset": query.offset, "total": total},
    })
}

/// `GET /discovery/search`' answer: the next page's cursor while more matched.
pub fn search_json(resources: Vec<Value>, query: &CatalogQuery, more: bool) -> Value {
    let cursor = more.then(|| (query.offset + query.limit).to_string());
    let mut body = Map::new();
    body.insert("x402Version".into(), json!(2));
    body.insert("resources".into(), json!(resources));
    body.insert("partialResults".into(), json!(false));
    body.insert("pagination".into(), json!({"limit": query.limit, "cursor": cursor}));
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settle_body(extensions: Value) -> Value {
        json!({
            "x402Version": 2,
            "paymentPayload": {
                "x402Version": 2,
                "resource": {
                    "url": "https://API.example.com/weather?city=Paris#x",
                    "description": "Weather by city",
                    "mimeType": "application/json",
                    "serviceName": "Weather Co",
                    "tags": ["weather", "Weather", "forecast", "\u{7}bell", "x".repeat(33)],
                    "iconUrl": "https://api.example.com/icon.png",
                },
                "accepted": {"scheme": "exact"},
                "payload": {},
                "extensions": extensions,
            },
            "paymentRequirements": {
                "scheme": "exact", "network": "eip155:8453", "amount": "10000",
                "asset": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
                "maxTimeoutSeconds": 60, "extra": {},
            },
        })
    }

    fn bazaar() -> Value {
        json!({"bazaar": {"info": {"input": {"type": "http", "method": "GET"}, "output": {"type": "json"}}, "schema": {}}})
    }

    #[test]
    fn a_settle_that_declares_the_bazaar_extension_is_catalogued_canonically() {
        let entry = entry_from_settle(&settle_body(bazaar())).expect("an entry");
        assert_eq!(entry.resource, "https://api.example.com/weather");
        assert_eq!(entry.kind, "http");
        assert_eq!(entry.tags, vec!["weather".to_string(), "forecast".to_string()]);
        assert_eq!(entry.service_name.as_deref(), Some("Weather Co"));
        assert_eq!(entry.icon_url.as_deref(), Some("https://api.example.com/icon.png"));
        assert_eq!((entry.accepted_text("scheme"), entry.accepted_text("network")), ("exact", "eip155:8453"));
        assert_eq!(entry.amount_key().len(), AMOUNT_DIGITS);
        assert!(entry.amount_key().ends_with("10000"));
        assert_eq!(entry.extension_keys(), ",bazaar,");
        assert!(entry.search_text().contains("weather by city"));
        let item = entry.to_json("2026-12-05T00:00:00.000Z");
        assert_eq!(item["accepts"][0]["amount"], "10000");
        assert_eq!(item["type"], "http");
        assert_eq!(item["extensions"]["bazaar"]["info"]["input"]["method"], "GET");
    }

    #[test]
    fn a_route_template_names_the_resource() {
        let mut ext = bazaar();
        ext["bazaar"]["routeTemplate"] = json!("/weather/:city");
        assert_eq!(
            entry_from_settle(&settle_body(ext)).map(|e| e.resource).as_deref(),
            Some("https://api.example.com/weather/:city")
        );
        let mut bad = bazaar();
        bad["bazaar"]["routeTemplate"] = json!("/../admin");
        assert_eq!(
            entry_from_settle(&settle_body(bad)).map(|e| e.resource).as_deref(),
            Some("https://api.example.com/weather")
        );
    }

    #[test]
    fn nothing_is_catalogued_without_a_well_formed_declaration() {
        assert_eq!(entry_from_settle(&settle_body(json!({}))), None);
        assert_eq!(entry_from_settle(&settle_body(json!({"bazaar": {"info": {"input": {"type": "ftp"}}}}))), None);
        assert_eq!(entry_from_settle(&settle_body(json!({"bazaar": "yes"}))), None);
        let huge = json!({"bazaar": {"info": {"input": {"type": "http"}, "blob": "x".repeat(MAX_EXTENSIONS_BYTES)}}});
        assert_eq!(entry_from_settle(&settle_body(huge)), None);
        let mut v1 = settle_body(bazaar());
        v1["paymentPayload"]["x402Version"] = json!(1);
        assert_eq!(entry_from_settle(&v1), None);
        for url in ["ftp://example.com/x", "https://user:pw@example.com/x", "https://exa mple.com/", "not a url"] {
            let mut body = settle_body(bazaar());
            body["paymentPayload"]["resource"]["url"] = json!(url);
            assert_eq!(entry_from_settle(&body), None, "{url}");
        }
        let mut amountless = settle_body(bazaar());
        amountless["paymentRequirements"]["amount"] = json!("ten");
        assert_eq!(entry_from_settle(&amountless), None);
    }

    #[test]
    fn queries_parse_filters_and_pages_and_refuse_malformed_values() {
        let q = CatalogQuery::parse(
            "type=http&network=eip155%3A8453&payTo=0xabc&limit=5&offset=10&extensions=bazaar&minAmount=100&other=1",
            false,
        )
        .expect("parses");
        assert_eq!(
            (q.kind.as_deref(), q.network.as_deref(), q.limit, q.offset),
            (Some("http"), Some("eip155:8453"), 5, 10)
        );
        assert_eq!(q.extension.as_deref(), Some("bazaar"));
        assert_eq!(q.min_amount, padded_amount("100"));
        let s = CatalogQuery::parse("query=Weather+Paris&cursor=20", true).expect("parses");
        assert_eq!((s.words.clone(), s.offset), (vec!["weather".to_string(), "paris".to_string()], 20));
        for (query, search, parameter) in [
            ("limit=0", false, "limit"),
            ("limit=101", false, "limit"),
            ("offset=-1", false, "offset"),
            ("minAmount=1.5", false, "minAmount"),
            ("network=", false, "network"),
            ("extensions=a,b", false, "extensions"),
            ("limit=5", true, "query"),
            ("query=x&cursor=abc", true, "cursor"),
        ] {
            assert_eq!(
                CatalogQuery::parse(query, search).map_err(|e| e.parameter),
                Err(parameter.to_string()),
                "{query}"
            );
        }
        assert_eq!(CatalogQuery::parse("", false).map(|q| q.limit), Ok(DEFAULT_LIMIT));
    }

    #[test]
    fn the_answers_have_the_bazaar_clients_shape() {
        let q = CatalogQuery::parse("limit=2", true).err();
        assert!(q.is_some());
        let q = CatalogQuery::parse("query=x&limit=2", true).expect("parses");
        assert_eq!(search_json(vec![], &q, true)["pagination"], json!({"limit": 2, "cursor": "2"}));
        assert_eq!(search_json(vec![], &q, false)["pagination"]["cursor"], Value::Null);
        let l = CatalogQuery::parse("", false).expect("parses");
        assert_eq!(list_json(vec![json!({})], &l, 7)["pagination"], json!({"limit": 20, "offset": 0, "total": 7}));
    }
}
