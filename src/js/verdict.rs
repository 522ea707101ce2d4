//! A verifier's answer (`VerifyResult` in `js-bindings/src/types.ts`), typed and serialized straight to
//! its JSON text: every verify of the packages ends here, so no intermediate `Value` is built.

use serde::Serialize;

use crate::policy::PaymentPolicy;
use crate::protocol::Reason;
use crate::schemes::PaymentRequest;

/// Whether the payment is valid and why not, with the fields only some schemes report left out when
/// they do not apply.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub is_valid: bool,
    pub payer: String,
    /// `upto`: the session the permit opens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// `upto`: whether the permit's spender was checked against `options.spenders`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spender_checked: Option<bool>,
    /// Solana: whether `extra.feePayer` was checked against `options.feePayers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee_payer_checked: Option<bool>,
    /// Starknet: whether the sponsor was checked against `options.sponsors`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sponsor_checked: Option<bool>,
    /// Starknet: the SNIP-12 hash the account signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_hash: Option<String>,
    pub needs_chain: bool,
    pub chain_checked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_message: Option<String>,
}

impl Verdict {
    /// A valid payment of `payer` (until [`Verdict::refuse`]).
    pub fn valid(payer: String, needs_chain: bool, chain_checked: bool) -> Verdict {
        Verdict {
            is_valid: true,
            payer,
            session_id: None,
            spender_checked: None,
            fee_payer_checked: None,
            sponsor_checked: None,
            message_hash: None,
            needs_chain,
            chain_checked,
            invalid_reason: None,
            invalid_message: None,
        }
    }

    /// Not valid, for `reason` under the request's version.
    pub fn refuse(&mut self, request: &PaymentRequest, reason: Reason, message: String) {
        self.is_valid = false;
        self.invalid_reason = Some(reason.code(request.version));
        self.invalid_message = Some(message);
    }

    /// Refused when the facilitator's rules that need no configuration refuse the payment (a zero
    /// amount, a payment to oneself; see [`crate::policy`]): the facilitator checks them before the
    /// scheme's, so their reason comes first here too. Such a refusal is final: no chain can change
    /// it (`needsChain` false).
    pub fn with_payment_policy(mut self, request: &PaymentRequest) -> Verdict {
        if let Err(refusal) = PaymentPolicy::default().check_amounts_and_payer(request) {
            self.refuse(request, refusal.reason(), refusal.to_string());
            self.needs_chain = false;
        }
        self
    }
}
