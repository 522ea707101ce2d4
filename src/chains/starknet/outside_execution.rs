//! SNIP-9 outside execution: the `OutsideExecution` a user signs as SNIP-12 typed data (version 1 on
//! revision 0, version 2 on revision 1), read back into its fields, and the calldata that hands it
//! with its signature to the account's `execute_from_outside[_v2]`.
//!
//! The typed data must be SNIP-9's exactly (domain name, version, and the encode_type of both the
//! domain and `OutsideExecution`), since the account hashes that fixed shape: anything else would hash
//! to a message the account never checks. Values are read with the same rules as hashing
//! ([`basic_value`]), so the fields returned are the ones signed.

use serde_json::{json, Value};

use super::call::{encode_calls, Call};
use super::felt::{encode_short_string, selector, Felt};
use super::typed_data::{basic_value, Revision, TypedData, TypedDataError};
use crate::protocol::fields::json_type;

/// `'ANY_CALLER'`: an outside execution anyone may submit.
pub const ANY_CALLER: Felt = Felt::from_hex_unchecked("0x414e595f43414c4c4552");

/// The SNIP-12 domain name of every SNIP-9 version.
pub const DOMAIN_NAME: &str = "Account.execute_from_outside";

const V1_DOMAIN_TYPE: &str = "StarkNetDomain(name:felt,version:felt,chainId:felt)";
const V1_TYPE: &str = "OutsideExecution(caller:felt,nonce:felt,execute_after:felt,execute_before:felt,\
calls_len:felt,calls:OutsideCall*)OutsideCall(to:felt,selector:felt,calldata_len:felt,calldata:felt*)";
const V2_DOMAIN_TYPE: &str = r#""StarknetDomain"("name":"shortstring","version":"shortstring","chainId":"shortstring","revision":"shortstring")"#;
const V2_TYPE: &str = r#""OutsideExecution"("Caller":"ContractAddress","Nonce":"felt","Execute After":"u128","Execute Before":"u128","Calls":"Call*")"Call"("To":"ContractAddress","Selector":"selector","Calldata":"felt*")"#;

/// The SRC5 interface ids of versions 1 and 2 (what `supports_interface` answers true to).
pub const SRC5_INTERFACE_IDS: [Felt; 2] = [
    Felt::from_hex_unchecked("0x68cfd18b92d1907b8ba3cc324900277f5a3622099431ea85dd8089255e4181"),
    Felt::from_hex_unchecked("0x1d1144bb2138366ff28d8e9ab57456b1d332ac42196230c3a602003c89872"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutsideExecutionVersion {
    /// SNIP-12 revision 0, entry point `execute_from_outside`.
    V1,
    /// SNIP-12 revision 1, entry point `execute_from_outside_v2`.
    V2,
}

impl OutsideExecutionVersion {
    pub const fn entry_point(self) -> &'static str {
        match self {
            OutsideExecutionVersion::V1 => "execute_from_outside",
            OutsideExecutionVersion::V2 => "execute_from_outside_v2",
        }
    }

    /// The SRC5 interface id of an account that accepts this version.
    pub const fn src5_interface_id(self) -> Felt {
        match self {
            OutsideExecutionVersion::V1 => SRC5_INTERFACE_IDS[0],
            OutsideExecutionVersion::V2 => SRC5_INTERFACE_IDS[1],
        }
    }

    /// The encode_type of `OutsideExecution` in this version (its keccak is SNIP-9's type hash).
    pub const fn encode_type(self) -> &'static str {
        match self {
            OutsideExecutionVersion::V1 => V1_TYPE,
            OutsideExecutionVersion::V2 => V2_TYPE,
        }
    }

    const fn domain_encode_type(self) -> &'static str {
        match self {
            OutsideExecutionVersion::V1 => V1_DOMAIN_TYPE,
            OutsideExecutionVersion::V2 => V2_DOMAIN_TYPE,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutsideExecutionError {
    #[error(transparent)]
    TypedData(#[from] TypedDataError),
    #[error("the primary type is {0:?}, not OutsideExecution")]
    NotOutsideExecution(String),
    #[error("the domain name is not {DOMAIN_NAME}")]
    WrongDomainName,
    #[error("SNIP-9 version {version:#x} on SNIP-12 revision {revision:?} is not supported (1 on revision 0, 2 on revision 1)")]
    UnsupportedVersion { version: Felt, revision: Revision },
    #[error("the {0} type is not SNIP-9's")]
    WrongTypes(&'static str),
    #[error("{0} does not fit a u64 timestamp")]
    TimestampOutOfRange(&'static str),
    #[error("{field} says {declared:#x} but there are {actual}")]
    LengthMismatch { field: &'static str, declared: Felt, actual: usize },
}

/// A SNIP-9 outside execution, as signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideExecution {
    pub version: OutsideExecutionVersion,
    /// The domain's `chainId` (SNIP-9 binds the network there, not in the message).
    pub chain_id: Felt,
    /// Who may submit it, or [`ANY_CALLER`].
    pub caller: Felt,
    pub nonce: Felt,
    pub execute_after: u64,
    pub execute_before: u64,
    pub calls: Vec<Call>,
}

impl OutsideExecution {
    /// Reads an outside execution from its typed data, refusing any other typed data.
    pub fn from_typed_data(typed_data: &Value) -> Result<OutsideExecution, OutsideExecutionError> {
        let typed_data = TypedData::from_json(typed_data)?;
        if typed_data.primary_type() != "OutsideExecution" {
            return Err(OutsideExecutionError::NotOutsideExecution(typed_data.primary_type().into()));
        }
        let reader = Reader { revision: typed_data.revision() };
        let domain = typed_data.domain();
        let text_type = match reader.revision {
            Revision::V0 => "felt",
            Revision::V1 => "shortstring",
        };
        if reader.felt(domain, "name", text_type).map_err(|e| e.at_domain())?
            != encode_short_string(DOMAIN_NAME).map_err(TypedDataError::from)?
        {
            return Err(OutsideExecutionError::WrongDomainName);
        }
        let version = version(reader.felt(domain, "version", text_type).map_err(|e| e.at_domain())?, reader.revision)?;
        check_encode_type(&typed_data, reader.revision.domain_type(), version.domain_encode_type(), "domain")?;
        check_encode_type(&typed_data, "OutsideExecution", version.encode_type(), "OutsideExecution")?;
        let chain_id = reader.felt(domain, "chainId", text_type).map_err(|e| e.at_domain())?;
        let message = typed_data.message();
        let execution = match version {
            OutsideExecutionVersion::V1 => reader.v1(message, chain_id),
            OutsideExecutionVersion::V2 => reader.v2(message, chain_id),
        };
        execution.map_err(OutsideExecutionError::at_message)
    }

    /// The selector of the account entry point that runs it.
    pub fn entry_point_selector(&self) -> Felt {
        selector(self.version.entry_point())
    }

    /// Cairo serde of `(outside_execution, signature)`: caller, nonce, execute_after,
    /// execute_before, the calls, then the signature's length and felts.
    pub fn calldata(&self, signature: &[Felt]) -> Vec<Felt> {
        let mut out = vec![self.caller, self.nonce, Felt::from(self.execute_after), Felt::from(self.execute_before)];
        encode_calls(&self.calls, &mut out);
        out.push(Felt::from(signature.len()));
        out.extend_from_slice(signature);
        out
    }

    /// The call to `account` that executes it with `signature`.
    pub fn to_call(&self, account: Felt, signature: &[Felt]) -> Call {
        Call { to: account, selector: self.entry_point_selector(), calldata: self.calldata(signature) }
    }

    /// Its SNIP-12 typed data written out canonically from the fields (as starknet.js's
    /// `outsideExecution.getTypedData` lays it out, every value hex): what a verifier hashes instead of
    /// the object it received, so that nothing but these fields can reach the hash.
    pub fn to_typed_data(&self) -> Value {
        let hex = |f: &Felt| format!("{f:#x}");
        let felts = |fs: &[Felt]| fs.iter().map(hex).collect::<Vec<_>>();
        let field = |name: &str, ty: &str| json!({"name": name, "type": ty});
        let (after, before) = (hex(&Felt::from(self.execute_after)), hex(&Felt::from(self.execute_before)));
        match self.version {
            OutsideExecutionVersion::V1 => json!({
                "types": {
                    "StarkNetDomain": [field("name", "felt"), field("version", "felt"), field("chainId", "felt")],
                    "OutsideExecution": [
                        field("caller", "felt"), field("nonce", "felt"), field("execute_after", "felt"),
                        field("execute_before", "felt"), field("calls_len", "felt"), field("calls", "OutsideCall*")],
                    "OutsideCall": [
                        field("to", "felt"), field("selector", "felt"), field("calldata_len", "felt"),
                        field("calldata", "felt*")],
                },
                "primaryType": "OutsideExecution",
                "domain": {"name": DOMAIN_NAME, "version": "1", "chainId": hex(&self.chain_id)},
                "message": {
                    "caller": hex(&self.caller), "nonce": hex(&self.nonce), "execute_after": after,
                    "execute_before": before, "calls_len": hex(&Felt::from(self.calls.len())),
                    "calls": self.calls.iter().map(|c| json!({"to": hex(&c.to), "selector": hex(&c.selector),
                        "calldata_len": hex(&Felt::from(c.calldata.len())), "calldata": felts(&c.calldata)}))
                        .collect::<Vec<_>>(),
                },
            }),
            OutsideExecutionVersion::V2 => json!({
                "types": {
                    "StarknetDomain": [
                        field("name", "shortstring"), field("version", "shortstring"),
                        field("chainId", "shortstring"), field("revision", "shortstring")],
                    "OutsideExecution": [
                        field("Caller", "ContractAddress"), field("Nonce", "felt"), field("Execute After", "u128"),
                        field("Execute Before", "u128"), field("Calls", "Call*")],
                    "Call": [field("To", "ContractAddress"), field("Selector", "selector"), field("Calldata", "felt*")],
                },
                "primaryType": "OutsideExecution",
                "domain": {"name": DOMAIN_NAME, "version": "2", "chainId": hex(&self.chain_id), "revision": "1"},
                "message": {
                    "Caller": hex(&self.caller), "Nonce": hex(&self.nonce), "Execute After": after,
                    "Execute Before": before,
                    "Calls": self.calls.iter().map(|c| json!({"To": hex(&c.to), "Selector": hex(&c.selector),
                        "Calldata": felts(&c.calldata)})).collect::<Vec<_>>(),
                },
            }),
        }
    }
}

impl OutsideExecutionError {
    fn at_domain(self) -> OutsideExecutionError {
        self.at("domain")
    }

    fn at_message(self) -> OutsideExecutionError {
        self.at("message")
    }

    fn at(self, segment: &str) -> OutsideExecutionError {
        match self {
            OutsideExecutionError::TypedData(e) => OutsideExecutionError::TypedData(e.at(segment)),
            other => other,
        }
    }
}

fn version(version: Felt, revision: Revision) -> Result<OutsideExecutionVersion, OutsideExecutionError> {
    match (revision, u8::try_from(version)) {
        (Revision::V0, Ok(1)) => Ok(OutsideExecutionVersion::V1),
        (Revision::V1, Ok(2)) => Ok(OutsideExecutionVersion::V2),
        _ => Err(OutsideExecutionError::UnsupportedVersion { version, revision }),
    }
}

fn check_encode_type(
    typed_data: &TypedData<'_>,
    ty: &str,
    expected: &str,
    name: &'static str,
) -> Result<(), OutsideExecutionError> {
    match typed_data.encode_type(ty)? == expected {
        true => Ok(()),
        false => Err(OutsideExecutionError::WrongTypes(name)),
    }
}

/// Reads message fields with the hashing rules of one revision.
struct Reader {
    revision: Revision,
}

impl Reader {
    fn v1(&self, message: &Value, chain_id: Felt) -> Result<OutsideExecution, OutsideExecutionError> {
        let calls = self.array(message, "calls")?;
        check_length(self.felt(message, "calls_len", "felt")?, calls.len(), "calls_len")?;
        let calls = calls
            .iter()
            .enumerate()
            .map(|(i, call)| self.v1_call(call).map_err(|e| e.at(&format!("calls.{i}"))))
            .collect::<Result<_, _>>()?;
        Ok(OutsideExecution {
            version: OutsideExecutionVersion::V1,
            chain_id,
            caller: self.felt(message, "caller", "felt")?,
            nonce: self.felt(message, "nonce", "felt")?,
            execute_after: self.timestamp(message, "execute_after", "felt")?,
            execute_before: self.timestamp(message, "execute_before", "felt")?,
            calls,
        })
    }

    fn v1_call(&self, call: &Value) -> Result<Call, OutsideExecutionError> {
        let calldata = self.felts(call, "calldata")?;
        check_length(self.felt(call, "calldata_len", "felt")?, calldata.len(), "calldata_len")?;
        Ok(Call { to: self.felt(call, "to", "felt")?, selector: self.felt(call, "selector", "felt")?, calldata })
    }

    fn v2(&self, message: &Value, chain_id: Felt) -> Result<OutsideExecution, OutsideExecutionError> {
        let calls = self
            .array(message, "Calls")?
            .iter()
            .enumerate()
            .map(|(i, call)| self.v2_call(call).map_err(|e| e.at(&format!("Calls.{i}"))))
            .collect::<Result<_, _>>()?;
        Ok(OutsideExecution {
            version: OutsideExecutionVersion::V2,
            chain_id,
            caller: self.felt(message, "Caller", "ContractAddress")?,
            nonce: self.felt(message, "Nonce", "felt")?,
            execute_after: self.timestamp(message, "Execute After", "u128")?,
            execute_before: self.timestamp(message, "Execute Before", "u128")?,
            calls,
        })
    }

    fn v2_call(&self, call: &Value) -> Result<Call, OutsideExecutionError> {
        Ok(Call {
            to: self.felt(call, "To", "ContractAddress")?,
            selector: self.felt(call, "Selector", "selector")?,
            calldata: self.felts(call, "Calldata")?,
        })
    }

    fn felt(&self, object: &Value, key: &str, ty: &str) -> Result<Felt, OutsideExecutionError> {
        let value = get(object, key)?;
        Ok(basic_value(self.revision, ty, value).map_err(|e| e.at(key))?)
    }

    /// The account's struct holds timestamps as u64, whatever the typed data's type says.
    fn timestamp(&self, object: &Value, key: &'static str, ty: &str) -> Result<u64, OutsideExecutionError> {
        u64::try_from(self.felt(object, key, ty)?).map_err(|_| OutsideExecutionError::TimestampOutOfRange(key))
    }

    fn felts(&self, object: &Value, key: &str) -> Result<Vec<Felt>, OutsideExecutionError> {
        self.array(object, key)?
            .iter()
            .enumerate()
            .map(|(i, v)| Ok(basic_value(self.revision, "felt", v).map_err(|e| e.at(&format!("{key}.{i}")))?))
            .collect()
    }

    fn array<'v>(&self, object: &'v Value, key: &str) -> Result<&'v [Value], OutsideExecutionError> {
        let value = get(object, key)?;
        let items = value.as_array().ok_or_else(|| {
            TypedDataError::WrongValue { ty: format!("{key}*"), expected: "an array", found: json_type(value) }.at(key)
        })?;
        Ok(items)
    }
}

fn get<'v>(object: &'v Value, key: &str) -> Result<&'v Value, OutsideExecutionError> {
    object.get(key).filter(|v| !v.is_null()).ok_or_else(|| TypedDataError::MissingField(key.to_string()).into())
}

fn check_length(declared: Felt, actual: usize, field: &'static str) -> Result<(), OutsideExecutionError> {
    match declared == Felt::from(actual) {
        true => Ok(()),
        false => Err(OutsideExecutionError::LengthMismatch { field, declared, actual }),
    }
}
