//! EIP-712 signing hashes, as `SolStruct::eip712_signing_hash` computes them, without the two parts of
//! it that depend only on the type and the domain. A verify hashes the struct's type string and the
//! domain (its type string, name, version and encoding: four keccaks and a string built) on every call
//! otherwise; here the type hash is computed once per process and the domain separators of the last
//! few domains are kept, so a verify of a known token's payment keccaks its message only.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::OnceLock;

use alloy_primitives::{keccak256, Keccak256, B256};
use alloy_sol_types::{Eip712Domain, SolStruct};

/// The type hash of `S` (`keccak256(encodeType)`), computed on first use. One `static` per struct.
pub struct TypeHash<S>(OnceLock<B256>, PhantomData<fn() -> S>);

impl<S: SolStruct> TypeHash<S> {
    pub const fn new() -> Self {
        TypeHash(OnceLock::new(), PhantomData)
    }

    fn get(&self) -> B256 {
        *self.0.get_or_init(|| keccak256(S::eip712_encode_type().as_bytes()))
    }
}

impl<S: SolStruct> Default for TypeHash<S> {
    fn default() -> Self {
        Self::new()
    }
}

/// How many domains' separators are kept (a facilitator serves a handful of tokens per chain). A
/// request naming a new domain evicts the oldest: an attacker cycling domains costs only the hashing
/// the cache saves, never memory.
const CACHED_DOMAINS: usize = 16;

thread_local! {
    static SEPARATORS: RefCell<Vec<(Eip712Domain, B256)>> = const { RefCell::new(Vec::new()) };
}

/// `domain`'s separator (its `hashStruct`), from the cache when it was computed recently.
pub fn separator(domain: &Eip712Domain) -> B256 {
    SEPARATORS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, separator)) = cache.iter().find(|(cached, _)| cached == domain) {
            return *separator;
        }
        let separator = domain.separator();
        if cache.len() == CACHED_DOMAINS {
            cache.remove(0);
        }
        cache.push((domain.clone(), separator));
        separator
    })
}

/// The digest a signer of `message` under `domain` signed: `keccak256(0x1901 ‖ domainSeparator ‖
/// hashStruct(message))`.
pub fn signing_hash<S: SolStruct>(message: &S, type_hash: &TypeHash<S>, domain: &Eip712Domain) -> B256 {
    let mut struct_hasher = Keccak256::new();
    struct_hasher.update(type_hash.get());
    struct_hasher.update(message.eip712_encode_data());
    let mut digest_input = [0u8; 2 + 32 + 32];
    digest_input[..2].copy_from_slice(&[0x19, 0x01]);
    digest_input[2..34].copy_from_slice(separator(domain).as_slice());
    digest_input[34..].copy_from_slice(struct_hasher.finalize().as_slice());
    keccak256(digest_input)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use alloy_primitives::{address, b256, Address, U256};
    use alloy_sol_types::sol;

    use super::*;

    sol! {
        struct Mail {
            address to;
            uint256 amount;
            bytes32 note;
        }
    }

    static MAIL: TypeHash<Mail> = TypeHash::new();

    fn domain(name: &str, chain_id: u64) -> Eip712Domain {
        let contract = address!("0x036CbD53842c5426634e7929541eC2318f3dCF7e");
        Eip712Domain::new(
            Some(Cow::Owned(name.to_owned())),
            Some(Cow::Borrowed("2")),
            Some(U256::from(chain_id)),
            Some(contract),
            None,
        )
    }

    fn mail(amount: u64) -> Mail {
        Mail {
            to: Address::repeat_byte(0x11),
            amount: U256::from(amount),
            note: b256!("0x00000000000000000000000000000000000000000000000000000000000000aa"),
        }
    }

    #[test]
    fn the_digest_is_alloys() {
        for (name, chain_id, amount) in [("USDC", 84532, 1), ("USD Coin", 8453, 10_000), ("USDC", 84532, 7)] {
            let (message, domain) = (mail(amount), domain(name, chain_id));
            assert_eq!(signing_hash(&message, &MAIL, &domain), message.eip712_signing_hash(&domain));
        }
    }

    #[test]
    fn every_domain_keeps_its_own_separator_past_the_cache_size() {
        let domains: Vec<Eip712Domain> = (0..CACHED_DOMAINS as u64 + 5).map(|i| domain("USDC", i + 1)).collect();
        for _ in 0..2 {
            for domain in &domains {
                assert_eq!(separator(domain), domain.separator());
                assert_eq!(signing_hash(&mail(3), &MAIL, domain), mail(3).eip712_signing_hash(domain));
            }
        }
        SEPARATORS.with(|cache| assert_eq!(cache.borrow().len(), CACHED_DOMAINS));
    }
}
