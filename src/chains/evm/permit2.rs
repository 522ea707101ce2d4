//! Permit2 and the two x402 Permit2 proxies (`exact` and `upto`) as the schemes see them: their
//! canonical addresses, the EIP-712 `PermitWitnessTransferFrom` with each scheme's witness (declared
//! with `sol!`, hashed by derivation), and the contract interfaces they call (protocol/permit2.md
//! §1–§3). Shared by `schemes::exact_permit2` and `schemes::upto_permit2`.

use std::borrow::Cow;

use alloy_primitives::{address, Address, B256, U256};
use alloy_sol_types::{sol, Eip712Domain, SolError};

use super::eip712::{self, TypeHash};

/// Uniswap's Permit2, the same address on every chain (`@x402/evm` `PERMIT2_ADDRESS`).
pub const PERMIT2: Address = address!("000000000022D473030F116dDEE9F6B43aC78BA3");
/// x402ExactPermit2Proxy: the only spender an `exact` Permit2 payment may name.
pub const EXACT_PROXY: Address = address!("402085c248EeA27D92E8b30b2C58ed07f9E20001");
/// x402UptoPermit2Proxy: the only spender an `upto` Permit2 payment may name.
pub const UPTO_PROXY: Address = address!("4020A4f3b7b90ccA423B9fabCc0CE57C6C240002");

/// `approve(address,uint256)`, the only call an ERC-20 approval extension's transaction may make.
pub const APPROVE_SELECTOR: [u8; 4] = [0x09, 0x5e, 0xa7, 0xb3];

sol! {
    /// The EIP-712 types the payer signs (`@x402/evm` `permit2WitnessTypes`). Permit2 rebuilds the
    /// same type string on chain from the proxy's `WITNESS_TYPE_STRING`, with `msg.sender` (the
    /// proxy) as `spender`.
    struct TokenPermissions {
        address token;
        uint256 amount;
    }

    struct Witness {
        address to;
        uint256 validAfter;
    }

    struct PermitWitnessTransferFrom {
        TokenPermissions permitted;
        address spender;
        uint256 nonce;
        uint256 deadline;
        Witness witness;
    }
}

sol! {
    /// The tuples both proxies take: Permit2's `PermitTransferFrom` (no spender: Permit2 uses
    /// `msg.sender`) and the payer's EIP-2612 permit for `settleWithPermit`.
    struct ProxyTokenPermissions {
        address token;
        uint256 amount;
    }
    struct PermitTransferFrom {
        ProxyTokenPermissions permitted;
        uint256 nonce;
        uint256 deadline;
    }
    struct EIP2612Permit {
        uint256 value;
        uint256 deadline;
        bytes32 r;
        bytes32 s;
        uint8 v;
    }

    /// x402ExactPermit2Proxy (`@x402/evm` `x402ExactPermit2ProxyABI`).
    interface IX402ExactPermit2Proxy {
        struct ProxyWitness {
            address to;
            uint256 validAfter;
        }
        function PERMIT2() external view returns (address);
        function settle(PermitTransferFrom permit, address owner, ProxyWitness witness, bytes signature) external;
        function settleWithPermit(EIP2612Permit permit2612, PermitTransferFrom permit, address owner, ProxyWitness witness, bytes signature) external;

        error InvalidAmount();
        error InvalidDestination();
        error InvalidOwner();
        error InvalidPermit2Address();
        error PaymentTooEarly();
        error Permit2612AmountMismatch();
        error ReentrancyGuardReentrantCall();
    }

    /// x402UptoPermit2Proxy (`@x402/evm` `x402UptoPermit2ProxyABI`): moves `amount`, at most the
    /// permitted cap, and only when called by `witness.facilitator`.
    interface IX402UptoPermit2Proxy {
        struct ProxyWitness {
            address to;
            address facilitator;
            uint256 validAfter;
        }
        function PERMIT2() external view returns (address);
        function settle(PermitTransferFrom permit, uint256 amount, address owner, ProxyWitness witness, bytes signature) external;
        function settleWithPermit(EIP2612Permit permit2612, PermitTransferFrom permit, uint256 amount, address owner, ProxyWitness witness, bytes signature) external;

        error AmountExceedsPermitted();
        error UnauthorizedFacilitator();
    }
}

sol! {
    /// The Permit2 reads and errors the diagnosis uses (permit2 `SignatureTransfer.sol`,
    /// `PermitErrors.sol`, `SignatureVerification.sol`).
    interface IPermit2 {
        function nonceBitmap(address owner, uint256 wordPos) external view returns (uint256);
        function DOMAIN_SEPARATOR() external view returns (bytes32);

        error SignatureExpired(uint256 signatureDeadline);
        error InvalidNonce();
        error InvalidAmount(uint256 maxAmount);
        error InvalidSignatureLength();
        error InvalidSignature();
        error InvalidSigner();
        error InvalidContractSignature();
    }
}

sol! {
    /// The ERC-20 calls around Permit2: the owner's allowance to Permit2, its balance, and the
    /// approval an ERC-20 gas-sponsoring extension carries.
    interface IErc20 {
        function allowance(address owner, address spender) external view returns (uint256);
        function balanceOf(address account) external view returns (uint256);
        function approve(address spender, uint256 amount) external returns (bool);
    }
}

/// The `upto` scheme's EIP-712 types (`@x402/evm` `uptoPermit2WitnessTypes`): its witness also names
/// the one facilitator address the upto proxy lets settle. Their own module, as the struct names are
/// part of the signed type string.
pub mod upto {
    use alloy_sol_types::sol;

    /// The same `TokenPermissions(address token,uint256 amount)` as the exact scheme's.
    pub use super::TokenPermissions;

    sol! {
        struct Witness {
            address to;
            address facilitator;
            uint256 validAfter;
        }

        struct PermitWitnessTransferFrom {
            TokenPermissions permitted;
            address spender;
            uint256 nonce;
            uint256 deadline;
            Witness witness;
        }
    }
}

/// Permit2's EIP-712 domain: `{name: "Permit2", chainId, verifyingContract: Permit2}`, no version.
pub fn domain(chain_id: u64) -> Eip712Domain {
    Eip712Domain::new(Some(Cow::Borrowed("Permit2")), None, Some(U256::from(chain_id)), Some(PERMIT2), None)
}

/// The signed fields of a Permit2 payment through a proxy (the `upto` witness adds its facilitator,
/// see [`SignedUptoPermit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedPermit {
    pub token: Address,
    pub amount: U256,
    pub spender: Address,
    pub nonce: U256,
    pub deadline: U256,
    pub to: Address,
    pub valid_after: U256,
}

impl SignedPermit {
    fn typed(&self) -> PermitWitnessTransferFrom {
        PermitWitnessTransferFrom {
            permitted: TokenPermissions { token: self.token, amount: self.amount },
            spender: self.spender,
            nonce: self.nonce,
            deadline: self.deadline,
            witness: Witness { to: self.to, validAfter: self.valid_after },
        }
    }

    /// The digest the payer signed on `chain_id`.
    pub fn signing_hash(&self, chain_id: u64) -> B256 {
        static TYPE_HASH: TypeHash<PermitWitnessTransferFrom> = TypeHash::new();
        eip712::signing_hash(&self.typed(), &TYPE_HASH, &domain(chain_id))
    }

    /// `permit` as the proxy takes it (no spender: Permit2 uses `msg.sender`).
    pub fn proxy_permit(&self) -> PermitTransferFrom {
        PermitTransferFrom {
            permitted: ProxyTokenPermissions { token: self.token, amount: self.amount },
            nonce: self.nonce,
            deadline: self.deadline,
        }
    }

    pub fn proxy_witness(&self) -> IX402ExactPermit2Proxy::ProxyWitness {
        IX402ExactPermit2Proxy::ProxyWitness { to: self.to, validAfter: self.valid_after }
    }
}

/// The signed fields of an `upto` Permit2 payment: the exact ones, and the witness's facilitator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedUptoPermit {
    pub permit: SignedPermit,
    pub facilitator: Address,
}

impl SignedUptoPermit {
    fn typed(&self) -> upto::PermitWitnessTransferFrom {
        let p = &self.permit;
        upto::PermitWitnessTransferFrom {
            permitted: upto::TokenPermissions { token: p.token, amount: p.amount },
            spender: p.spender,
            nonce: p.nonce,
            deadline: p.deadline,
            witness: upto::Witness { to: p.to, facilitator: self.facilitator, validAfter: p.valid_after },
        }
    }

    /// The digest the payer signed on `chain_id`.
    pub fn signing_hash(&self, chain_id: u64) -> B256 {
        static TYPE_HASH: TypeHash<upto::PermitWitnessTransferFrom> = TypeHash::new();
        eip712::signing_hash(&self.typed(), &TYPE_HASH, &domain(chain_id))
    }

    /// `permit` as the upto proxy takes it (as the exact proxy does).
    pub fn proxy_permit(&self) -> PermitTransferFrom {
        self.permit.proxy_permit()
    }

    pub fn proxy_witness(&self) -> IX402UptoPermit2Proxy::ProxyWitness {
        let p = &self.permit;
        IX402UptoPermit2Proxy::ProxyWitness { to: p.to, facilitator: self.facilitator, validAfter: p.valid_after }
    }
}

/// Permit2's unordered nonces: word `nonce >> 8` of the owner's bitmap, bit `nonce & 0xff`.
pub fn nonce_position(nonce: U256) -> (U256, usize) {
    (nonce >> 8, (nonce & U256::from(0xff)).to::<usize>())
}

/// The name of a proxy or Permit2 custom error, else the generic revert reason (the proxies' ABIs
/// do not carry Permit2's errors, so nodes show those as bare selectors).
pub fn revert_reason(data: &[u8]) -> String {
    use IPermit2 as P;
    use IX402ExactPermit2Proxy as X;
    use IX402UptoPermit2Proxy as U;
    let known: [(&str, [u8; 4]); 16] = [
        ("InvalidAmount", X::InvalidAmount::SELECTOR),
        ("InvalidDestination", X::InvalidDestination::SELECTOR),
        ("InvalidOwner", X::InvalidOwner::SELECTOR),
        ("InvalidPermit2Address", X::InvalidPermit2Address::SELECTOR),
        ("PaymentTooEarly", X::PaymentTooEarly::SELECTOR),
        ("Permit2612AmountMismatch", X::Permit2612AmountMismatch::SELECTOR),
        ("ReentrancyGuardReentrantCall", X::ReentrancyGuardReentrantCall::SELECTOR),
        ("AmountExceedsPermitted", U::AmountExceedsPermitted::SELECTOR),
        ("UnauthorizedFacilitator", U::UnauthorizedFacilitator::SELECTOR),
        ("Permit2 SignatureExpired", P::SignatureExpired::SELECTOR),
        ("Permit2 InvalidNonce", P::InvalidNonce::SELECTOR),
        ("Permit2 InvalidAmount", P::InvalidAmount::SELECTOR),
        ("Permit2 InvalidSignatureLength", P::InvalidSignatureLength::SELECTOR),
        ("Permit2 InvalidSignature", P::InvalidSignature::SELECTOR),
        ("Permit2 InvalidSigner", P::InvalidSigner::SELECTOR),
        ("Permit2 InvalidContractSignature", P::InvalidContractSignature::SELECTOR),
    ];
    let selector = data.get(..4);
    match known.iter().find(|(_, s)| Some(&s[..]) == selector) {
        Some((name, _)) => format!("{name} (0x{})", hex::encode(&data[..4])),
        None => crate::chains::evm::contracts::revert_reason(data),
    }
}
