//! SNIP-12 typed-data hashing (Starknet's EIP-712), revisions 0 and 1, from the standard typed-data
//! JSON (`types`, `primaryType`, `domain`, `message`) that starknet.js's `typedData` takes.
//!
//! Where the SNIP text and starknet.js 10.8 differ, this follows starknet.js, since that is what dapps
//! and most wallets hash with: an enum is `hash(variant index, encoded args…)` (the SNIP also hashes
//! the enum's type hash first) and a unit variant `()` hashes one zero argument; an enum variant's
//! encode_type is `"name":("T1","T2")` (the SNIP has no colon); names are quoted but not JSON-escaped
//! in revision 1; a hex selector is that felt (the SNIP always hashes the name); `domain.revision` may
//! be the string "1" too; `merkletree`'s `contains` type is not part of the encode_type; and the SNIP's
//! rules on user types (no dangling types, …) are not enforced. It is stricter than starknet.js where that only refuses malformed input: revision 0
//! knows the SNIP's basic types only (`felt`, `bool`, `string`, `selector`, `merkletree`; starknet.js
//! reads any other name as a felt), a selector is a string below the prime if hex (starknet.js hashes
//! the text of any value and reduces a revision-1 hex selector modulo the prime), a felt is never
//! read from an array (JavaScript's `BigInt([5])` is 5), an enum value has exactly one variant with
//! exactly its arguments, a user type may not take a basic type's name, and a short string's control
//! characters are two hex digits each (starknet.js writes one digit below 0x10, and fails on `\n`).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use super::pedersen::{pedersen_array, pedersen_hash};
use serde_json::{Map, Value};
use starknet_crypto::{poseidon_hash, poseidon_hash_many};

use super::felt::{
    encode_short_string, excerpt, felt_or_short_string_from_json, integer_from_json, selector, starknet_keccak, Felt,
    FeltError, PRIME, SHORT_STRING_MAX_LEN,
};
use crate::protocol::fields::json_type;
use alloy_primitives::U256;

/// The SNIP-12 revision, told apart by the domain type's name and `domain.revision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Revision {
    /// Pedersen, domain type `StarkNetDomain`, no (or `"0"`) `revision`.
    V0,
    /// Poseidon, domain type `StarknetDomain`, `revision` 1.
    V1,
}

impl Revision {
    pub const fn domain_type(self) -> &'static str {
        match self {
            Revision::V0 => "StarkNetDomain",
            Revision::V1 => "StarknetDomain",
        }
    }

    fn is_basic_type(self, name: &str) -> bool {
        let shared = ["felt", "bool", "string", "selector", "merkletree"];
        let v1 = ["u128", "i128", "ContractAddress", "ClassHash", "timestamp", "shortstring", "enum"];
        shared.contains(&name) || (self == Revision::V1 && v1.contains(&name))
    }
}

/// Nesting deeper than this (structs, arrays, enums) is refused, so no input exhausts the stack.
pub const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypedDataError {
    #[error("{0} must be a JSON object")]
    NotAnObject(&'static str),
    #[error("`primaryType` must be a non-empty string")]
    MissingPrimaryType,
    #[error("typed data has no `message`")]
    MissingMessage,
    #[error("neither revision 0 (a `StarkNetDomain` type, no `domain.revision`) nor revision 1 (a `StarknetDomain` type, `domain.revision` 1)")]
    UnknownRevision,
    #[error("the type {0:?} is predefined by SNIP-12 and cannot be redefined")]
    ReservedTypeName(String),
    #[error("the definition of type {0:?} is not a list of {{name, type}} fields")]
    BadTypeDefinition(String),
    #[error("unsupported type {ty:?} in revision {revision:?}")]
    UnsupportedType { ty: String, revision: Revision },
    #[error("the type {0:?} refers to itself")]
    RecursiveType(String),
    #[error("missing value for {0:?}")]
    MissingField(String),
    #[error("a {ty} value must be {expected}, not {found}")]
    WrongValue { ty: String, expected: &'static str, found: &'static str },
    #[error("{value} is out of the range of {ty}")]
    OutOfRange { ty: &'static str, value: String },
    #[error(transparent)]
    Felt(#[from] FeltError),
    #[error("a field of type {0} needs `contains`, the type it holds")]
    MissingContains(String),
    #[error("{0:?} is not a variant of the enum {1:?}")]
    UnknownVariant(String, String),
    #[error("the enum variant {0:?} must have a type `(T1,…,Tn)`")]
    BadVariantType(String),
    #[error("the enum variant {variant:?} takes {expected} values, got {found}")]
    EnumArity { variant: String, expected: usize, found: usize },
    #[error("an enum or a merkletree must be a struct field")]
    NotAField,
    #[error("a merkletree needs at least one leaf")]
    EmptyMerkleTree,
    #[error("a merkletree's leaves cannot be arrays ({0})")]
    MerkleTreeOfArrays(String),
    #[error("nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("{path}: {error}")]
    At { path: String, error: Box<TypedDataError> },
}

impl TypedDataError {
    /// The error without the path where it happened.
    pub fn cause(&self) -> &TypedDataError {
        match self {
            TypedDataError::At { error, .. } => error.cause(),
            other => other,
        }
    }

    /// Prefixes the path (`message.Calls.0.To`) with `segment`.
    pub(crate) fn at(self, segment: &str) -> TypedDataError {
        match self {
            TypedDataError::At { path, error } => TypedDataError::At { path: format!("{segment}.{path}"), error },
            error => TypedDataError::At { path: segment.to_string(), error: Box::new(error) },
        }
    }
}

/// One field of a struct type (or one variant of an enum type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    pub name: &'a str,
    pub ty: &'a str,
    /// The type an `enum` or `merkletree` field holds.
    pub contains: Option<&'a str>,
}

const fn field(name: &'static str, ty: &'static str) -> Field<'static> {
    Field { name, ty, contains: None }
}

/// Revision 1's preset types, known without being declared in `types`.
const PRESETS: [(&str, &[Field<'static>]); 3] = [
    ("u256", &[field("low", "u128"), field("high", "u128")]),
    ("TokenAmount", &[field("token_address", "ContractAddress"), field("amount", "u256")]),
    ("NftId", &[field("collection_address", "ContractAddress"), field("token_id", "u256")]),
];

/// Parsed typed data, borrowing the JSON it came from.
#[derive(Debug)]
pub struct TypedData<'a> {
    revision: Revision,
    types: BTreeMap<&'a str, Vec<Field<'a>>>,
    primary_type: &'a str,
    domain: &'a Value,
    message: &'a Value,
    type_hashes: RefCell<BTreeMap<String, Felt>>,
}

/// The SNIP-12 message hash of `typed_data` signed by `account`.
pub fn message_hash(typed_data: &Value, account: Felt) -> Result<Felt, TypedDataError> {
    TypedData::from_json(typed_data)?.message_hash(account)
}

/// starknet.js's `identifyRevision`: revision 1 needs a `StarknetDomain` type and `domain.revision`
/// that prints as `"1"` (1 or "1"); revision 0 a `StarkNetDomain` type and `domain.revision` absent,
/// null or the string "0" (the number 0 is neither).
pub fn detect_revision(types: &Map<String, Value>, domain: &Value) -> Option<Revision> {
    let revision = domain.get("revision").filter(|r| !r.is_null());
    let is_one = match revision {
        Some(Value::String(text)) => text == "1",
        Some(Value::Number(number)) => number.as_f64() == Some(1.0),
        _ => false,
    };
    if types.contains_key(Revision::V1.domain_type()) && is_one {
        return Some(Revision::V1);
    }
    let is_zero = match revision {
        None => true,
        Some(Value::String(text)) => text == "0",
        _ => false,
    };
    (types.contains_key(Revision::V0.domain_type()) && is_zero).then_some(Revision::V0)
}

impl<'a> TypedData<'a> {
    /// Checks the shape (starknet.js's `validateTypedData`, plus well-formed type definitions).
    pub fn from_json(value: &'a Value) -> Result<TypedData<'a>, TypedDataError> {
        let object = value.as_object().ok_or(TypedDataError::NotAnObject("typed data"))?;
        let types = object.get("types").and_then(Value::as_object).ok_or(TypedDataError::NotAnObject("types"))?;
        let primary_type = object
            .get("primaryType")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .ok_or(TypedDataError::MissingPrimaryType)?;
        let message = object.get("message").filter(|m| !m.is_null()).ok_or(TypedDataError::MissingMessage)?;
        let domain = object.get("domain").filter(|d| d.is_object()).ok_or(TypedDataError::NotAnObject("domain"))?;
        let revision = detect_revision(types, domain).ok_or(TypedDataError::UnknownRevision)?;
        let types = types
            .iter()
            .map(|(name, definition)| Ok((name.as_str(), parse_type(revision, name, definition)?)))
            .collect::<Result<_, TypedDataError>>()?;
        Ok(TypedData { revision, types, primary_type, domain, message, type_hashes: RefCell::default() })
    }

    pub fn revision(&self) -> Revision {
        self.revision
    }

    pub fn primary_type(&self) -> &'a str {
        self.primary_type
    }

    pub fn domain(&self) -> &'a Value {
        self.domain
    }

    pub fn message(&self) -> &'a Value {
        self.message
    }

    /// The fields of a user type, or of a revision-1 preset.
    pub fn fields(&self, ty: &str) -> Option<&[Field<'a>]> {
        if let Some(fields) = self.types.get(ty) {
            return Some(fields);
        }
        match self.revision {
            Revision::V1 => PRESETS.iter().find(|(name, _)| *name == ty).map(|(_, fields)| *fields),
            Revision::V0 => None,
        }
    }

    /// `hash_array(PREFIX, Enc[domain], account, Enc[message])`.
    pub fn message_hash(&self, account: Felt) -> Result<Felt, TypedDataError> {
        let prefix = encode_short_string("StarkNet Message")?;
        let domain = self.domain_hash()?;
        let message = self.struct_hash(self.primary_type, self.message).map_err(|e| e.at("message"))?;
        Ok(self.hash_array(&[prefix, domain, account, message]))
    }

    /// `Enc[domain]`, hashed with the domain type as `types` declares it.
    pub fn domain_hash(&self) -> Result<Felt, TypedDataError> {
        self.struct_hash(self.revision.domain_type(), self.domain).map_err(|e| e.at("domain"))
    }

    /// `starknet_keccak(encode_type(ty))`.
    pub fn type_hash(&self, ty: &str) -> Result<Felt, TypedDataError> {
        if let Some(hash) = self.type_hashes.borrow().get(ty) {
            return Ok(*hash);
        }
        let hash = starknet_keccak(self.encode_type(ty)?.as_bytes());
        self.type_hashes.borrow_mut().insert(ty.to_string(), hash);
        Ok(hash)
    }

    /// The type followed by every type it refers to, sorted by name, each as `name(field:type,…)`.
    pub fn encode_type(&self, ty: &str) -> Result<String, TypedDataError> {
        let Some(ty) = self.type_name(ty) else {
            return Ok(String::new());
        };
        let mut out = String::new();
        for name in self.dependencies(ty)? {
            let fields = self.fields(name).unwrap_or_default();
            let rendered = fields.iter().map(|f| self.render_field(f)).collect::<Result<Vec<_>, _>>()?;
            out.push_str(&format!("{}({})", self.escape(name), rendered.join(",")));
        }
        Ok(out)
    }

    /// `hash_array(type_hash(ty), Enc[field 1], …, Enc[field n])`.
    pub fn struct_hash(&self, ty: &str, data: &Value) -> Result<Felt, TypedDataError> {
        self.encode_struct(ty, data, 0)
    }

    fn encode_struct(&self, ty: &str, data: &Value, depth: usize) -> Result<Felt, TypedDataError> {
        let fields = self.fields(ty).ok_or_else(|| self.unsupported(ty))?;
        let object = data.as_object().ok_or_else(|| wrong_value(ty, "an object", data))?;
        let mut elements = vec![self.type_hash(ty)?];
        for field in fields {
            let value = object
                .get(field.name)
                .filter(|v| !v.is_null())
                .ok_or_else(|| TypedDataError::MissingField(field.name.to_string()))?;
            let encoded = self.encode_value(field.ty, value, Some(field), depth + 1).map_err(|e| e.at(field.name))?;
            elements.push(encoded);
        }
        Ok(self.hash_array(&elements))
    }

    /// `Enc[value]` for a value of type `ty`; `field` is the struct field it fills, if any.
    fn encode_value(
        &self,
        ty: &str,
        value: &Value,
        field: Option<&Field<'_>>,
        depth: usize,
    ) -> Result<Felt, TypedDataError> {
        if depth > MAX_DEPTH {
            return Err(TypedDataError::TooDeep);
        }
        if self.fields(ty).is_some() {
            return self.encode_struct(ty, value, depth);
        }
        if let Some(element) = ty.strip_suffix('*') {
            let items = value.as_array().ok_or_else(|| wrong_value(ty, "an array", value))?;
            let hashes = items
                .iter()
                .enumerate()
                .map(|(i, item)| self.encode_value(element, item, None, depth + 1).map_err(|e| e.at(&i.to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(self.hash_array(&hashes));
        }
        match ty {
            "enum" if self.revision == Revision::V1 => self.encode_enum(value, field, depth),
            "merkletree" => self.merkle_root(value, field, depth),
            _ => basic_value(self.revision, ty, value),
        }
    }

    /// `hash_array(variant index, Enc[arg 1], …)`, or `hash_array(index, 0)` for a unit variant.
    fn encode_enum(&self, value: &Value, field: Option<&Field<'_>>, depth: usize) -> Result<Felt, TypedDataError> {
        let field = field.ok_or(TypedDataError::NotAField)?;
        let enum_type = field.contains.ok_or_else(|| TypedDataError::MissingContains("enum".into()))?;
        let variants = self.types.get(enum_type).ok_or_else(|| self.unsupported(enum_type))?;
        let Some((name, args)) = value.as_object().filter(|o| o.len() == 1).and_then(|o| o.iter().next()) else {
            return Err(wrong_value("enum", "an object with one variant", value));
        };
        let index = variants
            .iter()
            .position(|v| v.name == name)
            .ok_or_else(|| TypedDataError::UnknownVariant(name.clone(), enum_type.to_string()))?;
        let arg_types = variant_arg_types(&variants[index])?;
        let args = args.as_array().ok_or_else(|| wrong_value("enum variant", "an array", args))?;
        if args.len() != arg_types.len() {
            return Err(TypedDataError::EnumArity {
                variant: name.clone(),
                expected: arg_types.len(),
                found: args.len(),
            });
        }
        let mut elements = vec![Felt::from(index)];
        if arg_types.is_empty() {
            elements.push(Felt::ZERO);
        }
        for (i, (ty, arg)) in arg_types.iter().zip(args).enumerate() {
            elements.push(self.encode_value(ty, arg, None, depth + 1).map_err(|e| e.at(&format!("{name}.{i}")))?);
        }
        Ok(self.hash_array(&elements))
    }

    /// The root of the Merkle tree over the encoded leaves: pairs hashed smaller first, an odd last
    /// node paired with 0, a single leaf its own root.
    fn merkle_root(&self, value: &Value, field: Option<&Field<'_>>, depth: usize) -> Result<Felt, TypedDataError> {
        let field = field.ok_or(TypedDataError::NotAField)?;
        let leaf_type = field.contains.ok_or_else(|| TypedDataError::MissingContains("merkletree".into()))?;
        if leaf_type.ends_with('*') {
            return Err(TypedDataError::MerkleTreeOfArrays(leaf_type.to_string()));
        }
        let leaves = value.as_array().ok_or_else(|| wrong_value("merkletree", "an array", value))?;
        let mut level = leaves
            .iter()
            .enumerate()
            .map(|(i, leaf)| self.encode_value(leaf_type, leaf, None, depth + 1).map_err(|e| e.at(&i.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        if level.is_empty() {
            return Err(TypedDataError::EmptyMerkleTree);
        }
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|pair| self.merkle_pair(pair[0], pair.get(1).copied().unwrap_or(Felt::ZERO)))
                .collect();
        }
        Ok(level[0])
    }

    fn merkle_pair(&self, a: Felt, b: Felt) -> Felt {
        let (low, high) = if a.to_bytes_be() <= b.to_bytes_be() { (a, b) } else { (b, a) };
        match self.revision {
            Revision::V0 => pedersen_hash(&low, &high),
            Revision::V1 => poseidon_hash(low, high),
        }
    }

    /// Pedersen over the elements then their count (revision 0), or Poseidon over them (revision 1).
    pub fn hash_array(&self, elements: &[Felt]) -> Felt {
        match self.revision {
            Revision::V0 => pedersen_array(elements),
            Revision::V1 => poseidon_hash_many(elements),
        }
    }

    /// The name of a user type or preset as stored, so that it lives as long as the typed data.
    fn type_name(&self, ty: &str) -> Option<&'a str> {
        if let Some((name, _)) = self.types.get_key_value(ty) {
            return Some(name);
        }
        match self.revision {
            Revision::V1 => PRESETS.iter().find(|(name, _)| *name == ty).map(|(name, _)| *name),
            Revision::V0 => None,
        }
    }

    /// `ty` first, then every type reachable from it, sorted (starknet.js's `getDependencies`).
    /// A cycle is refused: starknet.js recurses forever on one.
    fn dependencies(&self, ty: &'a str) -> Result<Vec<&'a str>, TypedDataError> {
        let mut done = BTreeSet::new();
        let mut path = BTreeSet::from([ty]);
        let mut stack = vec![(ty, self.children(ty), 0usize)];
        while let Some((current, children, next)) = stack.last_mut() {
            let Some(&child) = children.get(*next) else {
                let current = *current;
                path.remove(current);
                done.insert(current);
                stack.pop();
                continue;
            };
            *next += 1;
            if path.contains(child) {
                return Err(TypedDataError::RecursiveType(child.to_string()));
            }
            if !done.contains(child) {
                path.insert(child);
                stack.push((child, self.children(child), 0));
            }
        }
        done.remove(ty);
        let mut rest: Vec<&str> = done.into_iter().collect();
        // JavaScript sorts strings by UTF-16 code units.
        rest.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
        Ok(std::iter::once(ty).chain(rest).collect())
    }

    /// The struct types the fields of `ty` name directly.
    fn children(&self, ty: &str) -> Vec<&'a str> {
        let fields: &[Field<'a>] = self.fields(ty).unwrap_or_default();
        fields.iter().flat_map(|f| self.field_references(f)).filter(|name| self.fields(name).is_some()).collect()
    }

    fn field_references(&self, field: &Field<'a>) -> Vec<&'a str> {
        if let Some(element) = field.ty.strip_suffix('*') {
            return vec![element];
        }
        if self.revision == Revision::V1 {
            if field.ty == "enum" {
                return field.contains.into_iter().collect();
            }
            if let Some(inner) = tuple_inner(field.ty) {
                return inner.split(',').map(|t| t.strip_suffix('*').unwrap_or(t)).collect();
            }
        }
        vec![field.ty]
    }

    /// `name:type`, an enum field showing the enum's name and a variant its argument types.
    fn render_field(&self, field: &Field<'_>) -> Result<String, TypedDataError> {
        let ty = match (self.revision, field.ty) {
            (Revision::V1, "enum") => field.contains.ok_or_else(|| TypedDataError::MissingContains("enum".into()))?,
            (_, ty) => ty,
        };
        let rendered = match tuple_inner(ty) {
            Some(inner) => {
                let parts: Vec<String> =
                    inner.split(',').map(|t| if t.is_empty() { String::new() } else { self.escape(t) }).collect();
                format!("({})", parts.join(","))
            }
            None => self.escape(ty),
        };
        Ok(format!("{}:{}", self.escape(field.name), rendered))
    }

    fn escape(&self, name: &str) -> String {
        match self.revision {
            Revision::V0 => name.to_string(),
            Revision::V1 => format!("\"{name}\""),
        }
    }

    fn unsupported(&self, ty: &str) -> TypedDataError {
        TypedDataError::UnsupportedType { ty: excerpt(ty), revision: self.revision }
    }
}

/// `Enc[value]` for a basic (non-struct, non-array) type: the felt the value stands for.
pub fn basic_value(revision: Revision, ty: &str, value: &Value) -> Result<Felt, TypedDataError> {
    use Revision::{V0, V1};
    match (revision, ty) {
        (_, "felt") | (V1, "shortstring") | (V0, "bool" | "string") => Ok(felt_or_short_string_from_json(value)?),
        (V1, "bool") => value.as_bool().map(Felt::from).ok_or_else(|| wrong_value(ty, "a boolean", value)),
        (V1, "string") => byte_array_hash(value),
        (_, "selector") => selector_value(value),
        (V1, "u128") => unsigned_128(value, "u128"),
        (V1, "timestamp") => unsigned_128(value, "timestamp"),
        (V1, "i128") => signed_128(value),
        (V1, "ContractAddress" | "ClassHash") => Ok(integer_from_json(value)?.to_felt()?),
        _ => Err(TypedDataError::UnsupportedType { ty: excerpt(ty), revision }),
    }
}

/// A selector given as hex is that felt; any other text is an entry point name, hashed.
fn selector_value(value: &Value) -> Result<Felt, TypedDataError> {
    let text = value.as_str().ok_or_else(|| wrong_value("selector", "a string", value))?;
    // starknet.js's `isHex`: /^0[xX][0-9a-fA-F]*$/.
    let is_hex =
        text.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x")) && text[2..].chars().all(|c| c.is_ascii_hexdigit());
    match is_hex {
        true => Ok(super::felt::parse_felt(text)?),
        false => Ok(selector(text)),
    }
}

/// A revision-1 string as a Cairo `ByteArray`: `hash_array(n, word 1, …, word n, pending, pending_len)`
/// with 31-byte words.
fn byte_array_hash(value: &Value) -> Result<Felt, TypedDataError> {
    let text = value.as_str().ok_or_else(|| wrong_value("string", "a string", value))?;
    if !text.is_ascii() {
        return Err(FeltError::NotAscii(excerpt(text)).into());
    }
    let bytes = text.as_bytes();
    let full_words = bytes.len() / SHORT_STRING_MAX_LEN;
    let pending = &bytes[full_words * SHORT_STRING_MAX_LEN..];
    let mut elements = vec![Felt::from(full_words)];
    elements.extend(bytes.chunks_exact(SHORT_STRING_MAX_LEN).map(Felt::from_bytes_be_slice));
    elements.push(Felt::from_bytes_be_slice(pending));
    elements.push(Felt::from(pending.len()));
    Ok(poseidon_hash_many(&elements))
}

fn unsigned_128(value: &Value, ty: &'static str) -> Result<Felt, TypedDataError> {
    let integer = integer_from_json(value)?;
    if integer.negative || integer.magnitude > U256::from(u128::MAX) {
        return Err(TypedDataError::OutOfRange { ty, value: signed_text(integer.negative, integer.magnitude) });
    }
    Ok(integer.to_felt()?)
}

/// An i128 in `[-2^127, 2^127)`; a negative one is `P + value`.
fn signed_128(value: &Value) -> Result<Felt, TypedDataError> {
    let integer = integer_from_json(value)?;
    let limit = U256::from(1u8) << 127;
    let in_range = if integer.negative { integer.magnitude <= limit } else { integer.magnitude < limit };
    if !in_range {
        return Err(TypedDataError::OutOfRange { ty: "i128", value: signed_text(integer.negative, integer.magnitude) });
    }
    match integer.negative {
        true => Ok(super::felt::felt_from_u256(PRIME - integer.magnitude)?),
        false => Ok(integer.to_felt()?),
    }
}

fn signed_text(negative: bool, magnitude: U256) -> String {
    format!("{}{magnitude}", if negative { "-" } else { "" })
}

/// The argument types of an enum variant `(T1,…,Tn)`; `()` has none.
fn variant_arg_types<'t>(variant: &Field<'t>) -> Result<Vec<&'t str>, TypedDataError> {
    let inner = tuple_inner(variant.ty).ok_or_else(|| TypedDataError::BadVariantType(variant.name.to_string()))?;
    if inner.is_empty() {
        return Ok(Vec::new());
    }
    let types: Vec<&str> = inner.split(',').collect();
    if types.iter().any(|t| t.is_empty()) {
        return Err(TypedDataError::BadVariantType(variant.name.to_string()));
    }
    Ok(types)
}

/// The inside of `(…)`, as JavaScript's `/^\(.*\)$/` matches it (`.` stops at line terminators).
fn tuple_inner(ty: &str) -> Option<&str> {
    let inner = ty.strip_prefix('(')?.strip_suffix(')')?;
    let line_break = inner.contains(['\n', '\r', '\u{2028}', '\u{2029}']);
    (!line_break).then_some(inner)
}

fn parse_type<'a>(revision: Revision, name: &'a str, definition: &'a Value) -> Result<Vec<Field<'a>>, TypedDataError> {
    let reserved = revision.is_basic_type(name)
        || (revision == Revision::V1 && PRESETS.iter().any(|(preset, _)| *preset == name))
        || name.ends_with('*')
        || tuple_inner(name).is_some();
    if reserved {
        return Err(TypedDataError::ReservedTypeName(excerpt(name)));
    }
    let bad = || TypedDataError::BadTypeDefinition(excerpt(name));
    let fields = definition.as_array().ok_or_else(bad)?;
    fields
        .iter()
        .map(|f| {
            let text = |key: &str| f.get(key).and_then(Value::as_str);
            let contains = match f.get("contains") {
                None | Some(Value::Null) => None,
                Some(Value::String(contains)) => Some(contains.as_str()),
                Some(_) => return Err(bad()),
            };
            Ok(Field { name: text("name").ok_or_else(bad)?, ty: text("type").ok_or_else(bad)?, contains })
        })
        .collect()
}

fn wrong_value(ty: &str, expected: &'static str, value: &Value) -> TypedDataError {
    TypedDataError::WrongValue { ty: excerpt(ty), expected, found: json_type(value) }
}
