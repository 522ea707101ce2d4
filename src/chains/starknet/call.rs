//! A contract call and its Cairo serialization, shared by an account's `__execute__` and SNIP-9's
//! `execute_from_outside`.

use super::felt::Felt;

/// One call of a multicall: the contract, the entry point's selector, and the raw calldata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub to: Felt,
    pub selector: Felt,
    pub calldata: Vec<Felt>,
}

/// Cairo serde of `Array<Call>` (or `Span<Call>`): the count, then each call's `to`, `selector`,
/// calldata length and calldata.
pub fn encode_calls(calls: &[Call], out: &mut Vec<Felt>) {
    out.push(Felt::from(calls.len()));
    for call in calls {
        out.extend([call.to, call.selector, Felt::from(call.calldata.len())]);
        out.extend_from_slice(&call.calldata);
    }
}
