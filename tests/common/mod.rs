//! Native test harness: a real anvil from npm, our test token deployed on it, a blocking HTTP
//! transport and the system clock, and helpers to sign EIP-3009 authorizations.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{sol, SolCall, SolValue};
use serde_json::{json, Value};
use x402_edge::access::MemoryLimiter;
use x402_edge::api::{self, ApiRequest, ApiResponse};
use x402_edge::chains::evm::sender::NonceManagedSender;
use x402_edge::chains::evm::signer::LocalEvmSigner;
use x402_edge::config::Config;
use x402_edge::facilitator::Facilitator;
use x402_edge::facilitator::{Host, NoHooks, Ports};
use x402_edge::ledger::MemoryLedger;
use x402_edge::ports::{Clock, EvmSigner, HttpTransport, TransportError};
use x402_edge::schemes::exact_evm::authorization_digest;
use x402_edge::schemes::exact_evm::Eip3009Authorization;

/// The standard anvil accounts (public test keys).
pub const KEYS: [&str; 10] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

pub const CHAIN_ID: u64 = 84532;
/// The facilitator signs with anvil account #9.
pub const FACILITATOR_KEY: &str = KEYS[9];

sol! {
    interface ITestToken {
        function mint(address to, uint256 amount) external;
        function balanceOf(address account) external view returns (uint256);
    }
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn signer(key: &str) -> LocalEvmSigner {
    LocalEvmSigner::from_hex(key).unwrap()
}

pub fn address(key: &str) -> Address {
    signer(key).address()
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

pub struct UreqTransport;

impl HttpTransport for UreqTransport {
    async fn post_json(&self, url: &str, headers: &[(&str, &str)], body: String) -> Result<String, TransportError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(15)))
            .http_status_as_error(false)
            .build()
            .into();
        let mut request = agent.post(url).header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.send(body).map_err(|e| TransportError::Failed(e.to_string()))?;
        if response.status().as_u16() >= 400 {
            return Err(TransportError::Status(response.status().as_u16()));
        }
        response.body_mut().read_to_string().map_err(|e| TransportError::Failed(e.to_string()))
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
    }
    async fn sleep_millis(&self, millis: u64) {
        std::thread::sleep(Duration::from_millis(millis));
    }
}

pub fn rpc(url: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let text = pollster::block_on(UreqTransport.post_json(url, &[], body)).unwrap();
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert!(reply.get("error").is_none(), "{method}: {reply}");
    reply["result"].clone()
}

fn anvil_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("ANVIL_BIN") {
        return bin.into();
    }
    let arch = if cfg!(target_arch = "aarch64") { "arm64" } else { "amd64" };
    root().join(format!("node_modules/@foundry-rs/anvil-linux-{arch}/bin/anvil"))
}

/// A running anvil, killed on drop.
pub struct Anvil {
    child: Child,
    pub url: String,
}

impl Anvil {
    pub fn start() -> Anvil {
        let bin = anvil_bin();
        assert!(bin.exists(), "anvil not found at {} (run `npm install`)", bin.display());
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--chain-id", &CHAIN_ID.to_string(), "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).to_string();
        while pollster::block_on(UreqTransport.post_json(&url, &[], body.clone())).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "anvil did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Anvil { child, url }
    }

    /// Sends a transaction from an unlocked anvil account and waits for it to be mined.
    pub fn send(&self, from: Address, to: Option<Address>, data: Vec<u8>) -> Value {
        let mut tx = json!({"from": from, "data": format!("0x{}", hex::encode(data))});
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        let hash = rpc(&self.url, "eth_sendTransaction", json!([tx]));
        let started = Instant::now();
        loop {
            let receipt = rpc(&self.url, "eth_getTransactionReceipt", json!([hash]));
            if !receipt.is_null() {
                assert_eq!(receipt["status"], "0x1", "{receipt}");
                return receipt;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "transaction {hash} was not mined");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn nonce(&self, address: Address) -> u64 {
        let n = rpc(&self.url, "eth_getTransactionCount", json!([address, "latest"]));
        u64::from_str_radix(n.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Compiles the contracts with solc-js, once per test binary, when an artifact is missing or older
/// than its source (the script compares source hashes).
fn artifact(name: &str) -> Value {
    static COMPILED: std::sync::Once = std::sync::Once::new();
    let path = root().join(format!("build/contracts/{name}.json"));
    COMPILED.call_once(|| {
        let status = Command::new("node").arg("scripts/compile-contracts.mjs").current_dir(root()).status().unwrap();
        assert!(status.success(), "compiling the test contracts failed");
    });
    serde_json::from_str(&std::fs::read_to_string(Path::new(&path)).unwrap()).unwrap()
}

/// Where [`deploy_token`] puts TestUSDC on a fresh anvil (account 0's first contract): the address
/// every test facilitator allowlists (`ASSET_ALLOWLIST_BASE_SEPOLIA`); any other token is refused.
pub fn test_token_address() -> Address {
    address(KEYS[0]).create(0)
}

/// Deploys TestUSDC ("USD Coin", version "2", 6 decimals) and mints 1,000 USDC to accounts 0..8.
pub fn deploy_token(anvil: &Anvil) -> Address {
    let artifact = artifact("TestUSDC");
    let deployer = address(KEYS[0]);
    let mut code = hex::decode(artifact["bytecode"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    let args = ("USD Coin".to_string(), "USDC".to_string(), "2".to_string(), deployer);
    code.extend(args.abi_encode_params());
    let receipt = anvil.send(deployer, None, code);
    let token: Address = receipt["contractAddress"].as_str().unwrap().parse().unwrap();
    for key in &KEYS[..9] {
        let mint = ITestToken::mintCall { to: address(key), amount: U256::from(1_000_000_000u64) };
        anvil.send(deployer, Some(token), mint.abi_encode());
    }
    token
}

/// Deploys a contract posing as USDC ([`contracts/TestFakeToken.sol`]): every call succeeds, nothing
/// moves; `allowance` is what it answers to `allowance(owner, spender)`.
pub fn deploy_fake_token(anvil: &Anvil, allowance: U256) -> Address {
    let artifact = artifact("TestFakeToken");
    let mut code = hex::decode(artifact["bytecode"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    code.extend(allowance.abi_encode());
    let receipt = anvil.send(address(KEYS[0]), None, code);
    receipt["contractAddress"].as_str().unwrap().parse().unwrap()
}

/// A 5-byte contract (`PUSH1 32 PUSH1 0 RETURN`) that answers every call with one zero word: a
/// "token" that reads as unused, empty, and accepts everything.
pub fn deploy_five_byte_contract(anvil: &Anvil) -> Address {
    let at = Address::repeat_byte(0x5b);
    rpc(&anvil.url, "anvil_setCode", json!([at, "0x60206000f3"]));
    at
}

/// The native balance of `account`, in wei.
pub fn eth_balance(anvil: &Anvil, account: Address) -> U256 {
    let wei = rpc(&anvil.url, "eth_getBalance", json!([account, "latest"]));
    U256::from_str_radix(wei.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// Deploys an ERC-1271 wallet owned by `owner_key` and mints it 1,000 USDC of `token`.
pub fn deploy_wallet(anvil: &Anvil, token: Address, owner_key: &str) -> Address {
    let artifact = artifact("TestERC1271Wallet");
    let deployer = address(KEYS[0]);
    let mut code = hex::decode(artifact["bytecode"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    code.extend(address(owner_key).abi_encode());
    let receipt = anvil.send(deployer, None, code);
    let wallet: Address = receipt["contractAddress"].as_str().unwrap().parse().unwrap();
    let mint = ITestToken::mintCall { to: wallet, amount: U256::from(1_000_000_000u64) };
    anvil.send(deployer, Some(token), mint.abi_encode());
    wallet
}

sol! {
    interface ITestWalletFactory {
        function createWallet(address owner, bytes32 salt) external returns (address wallet);
        function createWalletUnlessPriced(address owner, bytes32 salt) external returns (address wallet);
        function walletAddress(address owner, bytes32 salt) external view returns (address);
    }
}

/// Puts the real Multicall3 (viem ships its creation code) at its canonical address, as on every
/// public chain we serve: counterfactual wallets are simulated through it.
pub fn install_multicall3(anvil: &Anvil) {
    let source = std::fs::read_to_string(root().join("node_modules/viem/_esm/constants/contracts.js")).unwrap();
    let start = source.find("multicall3Bytecode = '0x").unwrap() + "multicall3Bytecode = '0x".len();
    let end = start + source[start..].find('\'').unwrap();
    let receipt = anvil.send(address(KEYS[0]), None, hex::decode(&source[start..end]).unwrap());
    let code = rpc(&anvil.url, "eth_getCode", json!([receipt["contractAddress"], "latest"]));
    rpc(&anvil.url, "anvil_setCode", json!([x402_edge::chains::evm::contracts::MULTICALL3, code]));
}

/// Uniswap Permit2's canonical address, where [`install_permit2`] puts it.
pub const PERMIT2_ADDRESS: Address = alloy_primitives::address!("000000000022D473030F116dDEE9F6B43aC78BA3");
/// The canonical x402ExactPermit2Proxy (the `exact` Permit2 spender), placed by [`install_permit2`].
pub const EXACT_PERMIT2_PROXY_ADDRESS: Address = alloy_primitives::address!("402085c248EeA27D92E8b30b2C58ed07f9E20001");
/// The canonical x402UptoPermit2Proxy (the `upto` spender), placed by [`install_permit2`].
pub const UPTO_PERMIT2_PROXY_ADDRESS: Address = alloy_primitives::address!("4020A4f3b7b90ccA423B9fabCc0CE57C6C240002");

/// The domain separator the vendored Permit2 runtime caches for chain 31337 (at another address);
/// see contracts/vendor/README.md.
const PERMIT2_VENDORED_CACHED_SEPARATOR: &str = "d5a17abc3865df5c1400c0299bd4ce2eefc8114aec5f9d3dded1745783e57b98";

sol! {
    interface IPermit2Reads {
        function DOMAIN_SEPARATOR() external view returns (bytes32);
        function nonceBitmap(address owner, uint256 wordPos) external view returns (uint256);
    }
    interface IX402Permit2Proxy {
        function PERMIT2() external view returns (address);
    }
}

/// What Permit2's `DOMAIN_SEPARATOR()` answers at its canonical address on `chain_id`
/// (`{name: "Permit2", chainId, verifyingContract}`, no version).
pub fn permit2_domain_separator(chain_id: u64) -> B256 {
    let domain = alloy_sol_types::eip712_domain! {
        name: "Permit2",
        chain_id: chain_id,
        verifying_contract: PERMIT2_ADDRESS,
    };
    domain.separator()
}

/// `eth_call` of `data` to `to` at the latest block, as bytes.
pub fn call(anvil: &Anvil, to: Address, data: Vec<u8>) -> Vec<u8> {
    let result = rpc(&anvil.url, "eth_call", json!([{"to": to, "data": format!("0x{}", hex::encode(data))}, "latest"]));
    hex::decode(result.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

/// The vendored Permit2 runtime (contracts/vendor/Permit2.runtime.hex) with its cached chain-31337
/// domain separator replaced by the canonical address's, as `scripts/lib/chain.mjs` does.
fn permit2_runtime() -> String {
    let vendored = std::fs::read_to_string(root().join("contracts/vendor/Permit2.runtime.hex")).unwrap();
    let cached = format!("7f{PERMIT2_VENDORED_CACHED_SEPARATOR}");
    assert_eq!(vendored.matches(&cached).count(), 1, "the vendored Permit2 runtime changed");
    let canonical = format!("7f{}", hex::encode(permit2_domain_separator(31337)));
    vendored.trim().replace(&cached, &canonical)
}

/// Puts Uniswap Permit2 (the vendored runtime) and our x402 Permit2 proxies (built with the canonical
/// Permit2 as their immutable `PERMIT2`) at their canonical addresses with `anvil_setCode`, then checks
/// Permit2's `DOMAIN_SEPARATOR()` and the proxies' `PERMIT2()`. The proxies' runtime comes from running
/// their creation code in an `eth_call`: no transaction, so no deployer nonce moves and every other
/// contract keeps its address.
pub fn install_permit2(anvil: &Anvil) {
    rpc(&anvil.url, "anvil_setCode", json!([PERMIT2_ADDRESS, permit2_runtime()]));
    let proxies =
        [("x402ExactPermit2Proxy", EXACT_PERMIT2_PROXY_ADDRESS), ("x402UptoPermit2Proxy", UPTO_PERMIT2_PROXY_ADDRESS)];
    for (name, at) in proxies {
        let mut init = hex::decode(artifact(name)["bytecode"].as_str().unwrap().trim_start_matches("0x")).unwrap();
        init.extend(PERMIT2_ADDRESS.abi_encode());
        let runtime = rpc(&anvil.url, "eth_call", json!([{"data": format!("0x{}", hex::encode(init))}, "latest"]));
        assert!(runtime.as_str().is_some_and(|code| code.len() > 2), "{name}: no runtime code");
        rpc(&anvil.url, "anvil_setCode", json!([at, runtime]));
    }
    let separator = call(anvil, PERMIT2_ADDRESS, IPermit2Reads::DOMAIN_SEPARATORCall {}.abi_encode());
    assert_eq!(B256::from_slice(&separator), permit2_domain_separator(CHAIN_ID), "Permit2's DOMAIN_SEPARATOR()");
    for (name, at) in proxies {
        let permit2 = call(anvil, at, IX402Permit2Proxy::PERMIT2Call {}.abi_encode());
        assert_eq!(Address::from_slice(&permit2[12..]), PERMIT2_ADDRESS, "{name}'s PERMIT2()");
    }
}

sol! {
    /// The token calls around Permit2 the Permit2 tests make.
    interface IPermit2Token {
        function approve(address spender, uint256 amount) external returns (bool);
        function allowance(address owner, address spender) external view returns (uint256);
        function nonces(address owner) external view returns (uint256);
    }
}

/// `key` approves Permit2 for everything (what the reference's `createPermit2ApprovalTx` asks).
pub fn approve_permit2(w: &World, key: &str) {
    let call = IPermit2Token::approveCall { spender: PERMIT2_ADDRESS, amount: U256::MAX };
    w.anvil.send(address(key), Some(w.token), call.abi_encode());
}

/// `owner`'s allowance of the test token to Permit2.
pub fn permit2_allowance(w: &World, owner: Address) -> U256 {
    let read = IPermit2Token::allowanceCall { owner, spender: PERMIT2_ADDRESS };
    U256::from_be_slice(&call(&w.anvil, w.token, read.abi_encode()))
}

/// The payer's EIP-2612 `permit(owner, Permit2, amount, deadline)` for the test token, as the
/// `eip2612GasSponsoring` extension info carries it.
pub fn eip2612_extension(w: &World, key: &str, amount: u64, deadline: U256) -> Value {
    let owner = address(key);
    let nonce = U256::from_be_slice(&call(&w.anvil, w.token, IPermit2Token::noncesCall { owner }.abi_encode()));
    let domain = alloy_sol_types::eip712_domain! {
        name: "USD Coin", version: "2", chain_id: CHAIN_ID, verifying_contract: w.token,
    };
    let value = U256::from(amount);
    let digest = x402_edge::chains::evm::eip2612::signing_hash(owner, PERMIT2_ADDRESS, value, nonce, deadline, &domain);
    let signature = pollster::block_on(signer(key).sign_hash(&digest)).unwrap();
    json!({"eip2612GasSponsoring": {"info": {
        "from": owner, "asset": w.token, "spender": PERMIT2_ADDRESS, "amount": amount.to_string(),
        "nonce": nonce.to_string(), "deadline": deadline.to_string(),
        "signature": format!("0x{}", hex::encode(signature.as_bytes())), "version": "1",
    }}})
}

/// Deploys the CREATE2 factory of test wallets.
pub fn deploy_wallet_factory(anvil: &Anvil) -> Address {
    let code =
        hex::decode(artifact("TestWalletFactory")["bytecode"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    let receipt = anvil.send(address(KEYS[0]), None, code);
    receipt["contractAddress"].as_str().unwrap().parse().unwrap()
}

/// The address `factory` will deploy the wallet of `owner_key` with `salt` at.
pub fn counterfactual_wallet(anvil: &Anvil, factory: Address, owner_key: &str, salt: B256) -> Address {
    let data = ITestWalletFactory::walletAddressCall { owner: address(owner_key), salt }.abi_encode();
    let result =
        rpc(&anvil.url, "eth_call", json!([{"to": factory, "data": format!("0x{}", hex::encode(data))}, "latest"]));
    Address::from_slice(&hex::decode(result.as_str().unwrap().trim_start_matches("0x")).unwrap()[12..])
}

/// Mints `amount` of `token` to anyone (a counterfactual wallet can hold tokens before it exists).
pub fn mint(anvil: &Anvil, token: Address, to: Address, amount: u64) {
    let call = ITestToken::mintCall { to, amount: U256::from(amount) };
    anvil.send(address(KEYS[0]), Some(token), call.abi_encode());
}

pub fn code_len(anvil: &Anvil, account: Address) -> usize {
    let code = rpc(&anvil.url, "eth_getCode", json!([account, "latest"]));
    code.as_str().unwrap().len().saturating_sub(2) / 2
}

pub fn balance(anvil: &Anvil, token: Address, owner: Address) -> U256 {
    let data = ITestToken::balanceOfCall { account: owner }.abi_encode();
    let result =
        rpc(&anvil.url, "eth_call", json!([{"to": token, "data": format!("0x{}", hex::encode(data))}, "latest"]));
    U256::from_str_radix(result.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// An authorization from `payer_key` to `to`, valid for the next hour.
pub fn authorization(payer_key: &str, to: Address, value: u64, nonce: u8) -> Eip3009Authorization {
    Eip3009Authorization {
        from: address(payer_key),
        to,
        value: U256::from(value),
        valid_after: U256::ZERO,
        valid_before: U256::from(now_secs() + 3600),
        nonce: B256::repeat_byte(nonce),
    }
}

/// Signs an authorization under the domain `(name, version)` of `token`.
pub fn sign(key: &str, a: &Eip3009Authorization, token: Address, name: &str, version: &str) -> String {
    let digest = authorization_digest(a, name, version, CHAIN_ID, token);
    let signature = pollster::block_on(signer(key).sign_hash(&digest)).unwrap();
    format!("0x{}", hex::encode(signature.as_bytes()))
}

/// `transferWithAuthorization(…, v, r, s)` calldata for an EOA's 0x-hex signature of `a`.
pub fn transfer_calldata(a: &Eip3009Authorization, signature: &str) -> Vec<u8> {
    let sig = hex::decode(&signature[2..]).unwrap();
    x402_edge::chains::evm::contracts::IEip3009Token::transferWithAuthorization_0Call {
        from: a.from,
        to: a.to,
        value: a.value,
        validAfter: a.valid_after,
        validBefore: a.valid_before,
        nonce: a.nonce,
        v: sig[64],
        r: B256::from_slice(&sig[..32]),
        s: B256::from_slice(&sig[32..64]),
    }
    .abi_encode()
}

pub fn authorization_json(a: &Eip3009Authorization) -> Value {
    json!({
        "from": a.from, "to": a.to, "value": a.value.to_string(), "validAfter": a.valid_after.to_string(),
        "validBefore": a.valid_before.to_string(), "nonce": a.nonce,
    })
}

/// A v2 verify/settle body for `token` on base-sepolia (eip155:84532).
pub fn v2_body(a: &Eip3009Authorization, signature: &str, token: Address, pay_to: Address, amount: u64) -> Value {
    let requirements = json!({
        "scheme": "exact", "network": "eip155:84532", "amount": amount.to_string(), "asset": token,
        "payTo": pay_to, "maxTimeoutSeconds": 60, "extra": {"name": "USD Coin", "version": "2"},
    });
    json!({
        "x402Version": 2,
        "paymentPayload": {"x402Version": 2, "accepted": requirements, "payload": {"signature": signature, "authorization": authorization_json(a)}},
        "paymentRequirements": requirements,
    })
}

/// The native test host over the HTTP transport `H`: the system clock, in-memory ledger and nonces.
pub struct HostOver<H>(std::marker::PhantomData<H>);

/// [`HostOver`] a blocking HTTP client.
pub type NativeHost = HostOver<UreqTransport>;

impl<H: HttpTransport> Host for HostOver<H> {
    type Http = H;
    type Clock = SystemClock;
    type Ledger = MemoryLedger;
    type Sessions = x402_edge::upto::MemorySessions;
    type Sender = NonceManagedSender;
    type Hooks = NoHooks;
    type Limiter = MemoryLimiter;
    #[cfg(feature = "starknet")]
    type Sponsor = x402_edge::facilitator::sponsor::InProcessSponsor;
}

/// A facilitator reaching `rpc` through `http`, with `extra` variables (later ones win): see
/// [`Facility::with_vars`].
pub fn facilitator_over<H: HttpTransport>(http: H, rpc: &str, extra: &[(&str, &str)]) -> Facilitator<HostOver<H>> {
    let mut vars = vec![
        ("EVM_NETWORKS", "base-sepolia".to_string()),
        ("EVM_RPC_URL_BASE_SEPOLIA", rpc.to_string()),
        ("EVM_PRIVATE_KEY", FACILITATOR_KEY.to_string()),
        ("EVM_RECEIPT_TIMEOUT_SECONDS", "10".to_string()),
        ("ASSET_ALLOWLIST_BASE_SEPOLIA", test_token_address().to_string()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let config = Config::from_env(|name| vars.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| v.clone()));
    assert!(config.problems.is_empty(), "{:?}", config.problems);
    let sender = NonceManagedSender::new(config.evm_sync_send_wait_ms());
    let ports = Ports {
        http,
        clock: SystemClock,
        ledger: MemoryLedger::default(),
        sessions: x402_edge::upto::MemorySessions::default(),
        sender,
        hooks: NoHooks,
        limiter: MemoryLimiter::default(),
        #[cfg(feature = "starknet")]
        sponsor: x402_edge::facilitator::sponsor::InProcessSponsor,
    };
    Facilitator::new(config, ports)
}

pub struct Facility {
    pub facilitator: Facilitator<NativeHost>,
}

impl Facility {
    pub fn new(anvil: &Anvil) -> Facility {
        Facility::with_rpc(&anvil.url)
    }

    /// A facilitator whose `EVM_RPC_URL_BASE_SEPOLIA` is `rpc` (a comma-separated list).
    pub fn with_rpc(rpc: &str) -> Facility {
        Facility::with_vars(rpc, &[])
    }

    /// A facilitator on `rpc` whose receipts do not come in time: plain sends (not the synchronous
    /// one), a 2 s receipt wait and no fee bump, so a settle on a chain that is not mining answers
    /// `settlement_pending` with its transaction.
    pub fn without_receipts_in_time(rpc: &str) -> Facility {
        let vars = [("EVM_FEE_BUMP_SECONDS", "600"), ("EVM_RECEIPT_TIMEOUT_SECONDS", "2"), ("EVM_SYNC_SEND", "off")];
        Facility::with_vars(rpc, &vars)
    }

    /// A facilitator on `rpc` with more variables (later ones win). TestUSDC, where a fresh anvil has
    /// it, is allowlisted; the asset policy is otherwise the default.
    pub fn with_vars(rpc: &str, extra: &[(&'static str, &str)]) -> Facility {
        Facility { facilitator: facilitator_over(UreqTransport, rpc, extra) }
    }

    /// `GET path?query`.
    pub fn get(&self, path: &str, query: &str) -> (u16, Value) {
        self.call("GET", path, query, b"", None)
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_as(path, body, None)
    }

    /// `POST path` with `Authorization: Bearer <key>` when `key` is given.
    pub fn post_as(&self, path: &str, body: &Value, key: Option<&str>) -> (u16, Value) {
        self.call("POST", path, "", body.to_string().as_bytes(), key)
    }

    /// `GET path` with `Authorization: Bearer <key>` when `key` is given.
    pub fn get_as(&self, path: &str, key: Option<&str>) -> (u16, Value) {
        self.call("GET", path, "", b"", key)
    }

    fn call(&self, method: &str, path: &str, query: &str, body: &[u8], key: Option<&str>) -> (u16, Value) {
        let authorization = key.map(|k| format!("Bearer {k}"));
        let request = ApiRequest {
            method,
            path,
            query,
            authorization: authorization.as_deref(),
            client: "127.0.0.1",
            body,
            request_id: "test",
        };
        let (response, _log): (ApiResponse, _) = pollster::block_on(api::handle(&self.facilitator, request));
        (response.status, serde_json::from_str(&response.body).unwrap())
    }
}
pub mod offline;

/// A fresh anvil with the test token, Multicall3 (verify simulates through it), Permit2 and the x402
/// Permit2 proxies, and a facilitator on it.
pub struct World {
    pub anvil: Anvil,
    pub token: Address,
    pub facility: Facility,
}

pub fn world() -> World {
    let anvil = Anvil::start();
    // The token first: its address (the deployer's first) is the one test facilitators allowlist.
    let token = deploy_token(&anvil);
    assert_eq!(token, test_token_address(), "the allowlisted address");
    install_multicall3(&anvil);
    install_permit2(&anvil);
    let facility = Facility::new(&anvil);
    World { anvil, token, facility }
}
