//! The ledger's replies cross the Durable Object boundary as JSON (src/worker/ledger.rs): every variant
//! must serialize and read back unchanged, or the Worker answers 503 where the native host answers.

use x402_edge::ledger::{Claim, LedgerEntry, LedgerReply, SettleRecord};

fn record() -> SettleRecord {
    SettleRecord {
        success: true,
        reason: Some("none".into()),
        message: Some("settled".into()),
        transaction: Some("0xabc".into()),
        payer: "0x1".into(),
        block_number: Some(7),
        at_ms: 5,
    }
}

/// Fails to compile when a reply variant is added, so that [`every_reply`] stays complete.
fn reply_is_listed(reply: &LedgerReply) {
    match reply {
        LedgerReply::Ok | LedgerReply::Claim(_) | LedgerReply::Entry { .. } => {}
    }
}

fn every_reply() -> Vec<LedgerReply> {
    let in_flight_entry = LedgerEntry::InFlight {
        since_ms: 3,
        transaction: Some("0x1".into()),
        replaced: vec!["0x0".into()],
        raw: Some("0x02f8".into()),
        fingerprint: Some("ab".into()),
    };
    vec![
        LedgerReply::Ok,
        LedgerReply::Claim(Claim::Acquired),
        LedgerReply::Claim(Claim::InFlight { since_ms: 1, transaction: None, replaced: vec![], raw: None }),
        LedgerReply::Claim(Claim::InFlight {
            since_ms: 1,
            transaction: Some("0xb".into()),
            replaced: vec!["0xa".into()],
            raw: Some("0x02".into()),
        }),
        LedgerReply::Claim(Claim::Done { record: record() }),
        LedgerReply::Claim(Claim::Conflict),
        LedgerReply::Entry { entry: None },
        LedgerReply::Entry { entry: Some(in_flight_entry) },
        LedgerReply::Entry { entry: Some(LedgerEntry::Done { record: record(), fingerprint: Some("cd".into()) }) },
    ]
}

#[test]
fn every_ledger_reply_round_trips_through_json() {
    for reply in every_reply() {
        reply_is_listed(&reply);
        let text = serde_json::to_string(&reply).unwrap_or_else(|e| panic!("{reply:?} does not serialize: {e}"));
        let back: LedgerReply =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text} does not read back: {e}"));
        assert_eq!(back, reply, "{text}");
    }
}

#[test]
fn a_read_of_an_unknown_key_is_an_entry_reply_with_a_null_entry() {
    let text = serde_json::to_string(&LedgerReply::Entry { entry: None }).unwrap();
    assert_eq!(text, r#"{"reply":"entry","entry":null}"#);
}
