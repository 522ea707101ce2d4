//! Reading values from variables: integers in a range, address lists, URL lists. A bad value is a
//! problem by variable name, never echoed.

use alloy_primitives::Address;

use crate::protocol::normalize::parse_evm_address;

/// A `true`/`false` (or `1`/`0`) variable; absent is `false`.
pub(super) fn flag(get: &impl Fn(&str) -> Option<String>, problem: &mut impl FnMut(&str, String), name: &str) -> bool {
    match get(name).as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(_) => {
            problem(name, "must be `true` or `false`".into());
            false
        }
    }
}

/// A variable whose value could not be used, and why (never the value itself).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigProblem {
    pub variable: String,
    pub problem: String,
}

/// The non-empty entries of a comma-separated variable.
pub(super) fn entries(list: Option<String>) -> Vec<String> {
    let list = list.unwrap_or_default();
    list.split(',').map(str::trim).filter(|e| !e.is_empty()).map(String::from).collect()
}

/// A comma-separated list of EVM addresses, when the variable is set.
pub(super) fn addresses(
    get: &impl Fn(&str) -> Option<String>,
    problem: &mut impl FnMut(&str, String),
    variable: &str,
) -> Option<Vec<Address>> {
    get(variable).map(|list| {
        let mut addresses = Vec::new();
        for (index, entry) in list.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
            match parse_evm_address(entry) {
                Some(address) => addresses.push(address),
                None => problem(variable, format!("entry #{} is not an EVM address", index + 1)),
            }
        }
        addresses
    })
}

/// An integer variable within `range`, else its default and a problem.
pub(super) fn integer(
    get: &impl Fn(&str) -> Option<String>,
    problem: &mut impl FnMut(&str, String),
    variable: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> u64 {
    match get(variable) {
        None => default,
        Some(text) => text.parse().ok().filter(|v| range.contains(v)).unwrap_or_else(|| {
            problem(variable, format!("must be an integer from {} to {}", range.start(), range.end()));
            default
        }),
    }
}

pub(super) const URL_LIST_PROBLEM: &str = "must be http:// or https:// URLs, comma-separated";

/// A comma-separated list of http(s) URLs; `None` when empty or when one is not http(s).
pub(super) fn url_list(list: &str) -> Option<Vec<String>> {
    let urls: Vec<String> = list.split(',').map(str::trim).filter(|u| !u.is_empty()).map(String::from).collect();
    let valid = !urls.is_empty() && urls.iter().all(|u| u.starts_with("http://") || u.starts_with("https://"));
    valid.then_some(urls)
}
