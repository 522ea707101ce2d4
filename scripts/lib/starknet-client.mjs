// How an x402 client pays with the Starknet `exact` scheme, written with starknet.js 10.8 (independent of the
// Rust code in src/chains/starknet): a SNIP-9 outside execution whose single call is
// `transfer(payTo, amount_low, amount_high)` on the asset, signed as SNIP-12 typed data by the payer's
// account, wrapped in the x402 v2 PaymentPayload shape of NethermindEth/x402-starknet
// (`{x402Version: 2, accepted, payload: {signature: {r, s}, authorization}, typedData}`, see
// the protocol digest's vectors/api-examples.json `starknet_x402_v2_payload_shape`). Options build wrong
// payments on purpose for negative tests. With `spec: true` the payload is the registered spec's instead
// (x402-foundation/x402 `specs/schemes/exact/scheme_exact_starknet.md`): `{x402Version: 2, accepted,
// payload: {from, outsideExecution: {typedData, signature: [felts]}}}`, its `Caller` the requirements'
// `extra.feePayer` and `Execute Before` now + maxTimeoutSeconds, as that spec's clients sign.
//
// What this models: the payload and typed data a client of x402-starknet / daydreams sends, signed by a real
// account key; submitting an outside execution from a relayer account, as a self-sponsoring facilitator
// does. What it does NOT model: signers whose signature is not one [r, s] pair (Argent guardians, Braavos
// hardware signers, multisig: the payload's `{r, s}` keeps the first two felts only), SNIP-9 v3 (`Fee Mode`),
// account deployment, and a client's own checks of a paymaster's typed data.
//
// Plain ESM for node >= 22 (starknet.js 10.8 needs it). No network: callers pass the RPC URLs.

import { Account, RpcProvider, Signer, constants, num, outsideExecution, shortString, stark } from 'starknet';

/** `'ANY_CALLER'` as SNIP-9 encodes it: the short string's felt. */
export const ANY_CALLER = constants.OutsideExecutionCallerAny;

/** Chain ids (felt hex) of the Starknet x402 network names in use (protocol.md §3.3). */
export const STARKNET_CHAIN_IDS = Object.freeze({
  'starknet:SN_MAIN': constants.StarknetChainId.SN_MAIN,
  'starknet:SN_SEPOLIA': constants.StarknetChainId.SN_SEPOLIA,
  'starknet:mainnet': constants.StarknetChainId.SN_MAIN,
  'starknet:sepolia': constants.StarknetChainId.SN_SEPOLIA,
  'starknet-mainnet': constants.StarknetChainId.SN_MAIN,
  'starknet-sepolia': constants.StarknetChainId.SN_SEPOLIA,
});

const U128 = (1n << 128n) - 1n;
const hex = (n) => num.toHex(n);

/** `caller` as SNIP-9 wants it: `'ANY_CALLER'` (or its felt) stays ANY_CALLER, an address becomes felt hex. */
function callerFelt(caller) {
  if (caller === 'ANY_CALLER') return ANY_CALLER;
  return hex(caller);
}

/**
 * A call as SNIP-9 carries it, `{to, selector, calldata}` (hex felts). Accepts a starknet.js Call
 * `{contractAddress, entrypoint, calldata}` (converted with `outsideExecution.getOutsideCall`) or an outside
 * call `{to, selector, calldata}` (the shape SNIP-29 paymaster requests use).
 */
export function toOutsideCall(call) {
  if (call.entrypoint !== undefined) {
    const c = outsideExecution.getOutsideCall(call);
    return { to: c.to, selector: c.selector, calldata: c.calldata.map((x) => hex(x)) };
  }
  return { to: hex(call.to), selector: hex(call.selector), calldata: (call.calldata ?? []).map((x) => hex(x)) };
}

/**
 * SNIP-9 typed data (`Account.execute_from_outside`), as starknet.js's `outsideExecution.getTypedData` builds
 * it: version '2' is SNIP-12 revision 1 (`StarknetDomain`, domain `version: '2'`, `revision: '1'`, message
 * `{Caller, Nonce, 'Execute After', 'Execute Before', Calls: [{To, Selector, Calldata}]}`); version '1' is
 * revision 0 (`StarkNetDomain`, message `{caller, nonce, execute_after, execute_before, calls_len,
 * calls: [{to, selector, calldata_len, calldata}]}`). Every felt is a hex string (v1's `calls_len` and
 * `calldata_len` are numbers, as starknet.js makes them).
 *
 * @param {object} o
 * @param {'1'|'2'} [o.version='2']
 * @param {string} o.chainId               felt hex (e.g. 0x534e5f5345504f4c4941 for SN_SEPOLIA)
 * @param {string} [o.caller='ANY_CALLER'] 'ANY_CALLER' or the address allowed to submit it
 * @param {import('starknet').BigNumberish} o.nonce
 * @param {import('starknet').BigNumberish} o.executeAfter   seconds; the account requires execute_after < block time
 * @param {import('starknet').BigNumberish} o.executeBefore  seconds; the account requires block time < execute_before
 * @param {Array<import('starknet').Call | {to: string, selector: string, calldata: string[]}>} o.calls
 * @returns {import('starknet').TypedData}
 */
export function outsideExecutionTypedData({ version = '2', chainId, caller = 'ANY_CALLER', nonce, executeAfter, executeBefore, calls }) {
  if (version !== '1' && version !== '2') throw new Error(`SNIP-9 version must be '1' or '2', not ${version}`);
  const outsideCalls = calls.map(toOutsideCall);
  const options = { caller: callerFelt(caller), execute_after: hex(executeAfter), execute_before: hex(executeBefore) };
  // getTypedData derives each selector from an entry point name, and an outside call already carries its
  // selector: build the frame without calls, then fill them in the way its callToTypedData lays them out.
  const typed = outsideExecution.getTypedData(hex(chainId), options, hex(nonce), [], version);
  const key = version === '1' ? 'calls' : 'Calls';
  typed.message[key] = outsideCalls.map((c) =>
    version === '1'
      ? { to: c.to, selector: c.selector, calldata_len: c.calldata.length, calldata: c.calldata }
      : { To: c.to, Selector: c.selector, Calldata: c.calldata },
  );
  if (version === '1') typed.message.calls_len = outsideCalls.length;
  return typed;
}

/**
 * The SNIP-9 fields of outside-execution typed data (either version), for submitting it:
 * `{version, caller, nonce, execute_after, execute_before, calls: [{to, selector, calldata}]}` as starknet.js's
 * `OutsideExecution` (what `buildExecuteFromOutsideCall` compiles).
 * @param {import('starknet').TypedData} typedData
 */
export function parseOutsideExecution(typedData) {
  const m = typedData?.message;
  if (!m || typeof m !== 'object') throw new Error('typed data has no message');
  if (typedData.types?.StarknetDomain && Array.isArray(m.Calls)) {
    return {
      version: '2',
      caller: hex(m.Caller),
      nonce: hex(m.Nonce),
      execute_after: hex(m['Execute After']),
      execute_before: hex(m['Execute Before']),
      calls: m.Calls.map((c) => ({ to: hex(c.To), selector: hex(c.Selector), calldata: c.Calldata.map((x) => hex(x)) })),
    };
  }
  if (typedData.types?.StarkNetDomain && Array.isArray(m.calls)) {
    return {
      version: '1',
      caller: hex(m.caller),
      nonce: hex(m.nonce),
      execute_after: hex(m.execute_after),
      execute_before: hex(m.execute_before),
      calls: m.calls.map((c) => ({ to: hex(c.to), selector: hex(c.selector), calldata: c.calldata.map((x) => hex(x)) })),
    };
  }
  throw new Error('not SNIP-9 v1 or v2 outside-execution typed data');
}

/** A signature as felt hex strings: `{r, s}` (a starknet.js WeierstrassSignature) or an array. */
export function signatureArray(signature) {
  if (Array.isArray(signature)) return signature.map((x) => hex(x));
  return [hex(signature.r), hex(signature.s)];
}

/** `{address, sign(typedData) -> signature}` for a starknet.js Account or `{address, privateKey}`. */
function signerOf(account) {
  if (typeof account?.signMessage === 'function') return { address: account.address, sign: (td) => account.signMessage(td) };
  if (account?.address && account?.privateKey) {
    // What Account.signMessage does: the signer signs the typed data's message hash for this address.
    const signer = new Signer(account.privateKey);
    return { address: account.address, sign: (td) => signer.signMessage(td, account.address) };
  }
  throw new Error('account must be a starknet.js Account or {address, privateKey}');
}

async function chainIdFor({ chainId, account, network }) {
  if (chainId !== undefined) return hex(chainId);
  if (typeof account?.provider?.getChainId === 'function') return account.provider.getChainId();
  const known = STARKNET_CHAIN_IDS[network];
  if (!known) throw new Error(`no known chain id for network ${network}: pass chainId`);
  return known;
}

/** One JSON-RPC call to a SNIP-29 paymaster. */
async function paymasterCall({ url, apiKey }, method, params) {
  const headers = { 'content-type': 'application/json' };
  if (apiKey) headers['x-paymaster-api-key'] = apiKey;
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = await res.json();
  if (body.error) {
    const e = new Error(`${method}: ${body.error.code} ${body.error.message}${body.error.data ? ` (${JSON.stringify(body.error.data)})` : ''}`);
    Object.assign(e, { code: body.error.code, data: body.error.data });
    throw e;
  }
  return body.result;
}

/**
 * An x402 v2 Starknet `exact` PaymentPayload. The typed data's calls are the transfer
 * `transfer(payTo, amount_low, amount_high)` on `asset`, then `extraCalls`; the signature is
 * `account.signMessage(typedData)`. With `paymaster`, the typed data is what the paymaster's
 * `paymaster_buildTransaction` (sponsored) returns for those calls, as x402-starknet's client does, and
 * `caller`/time/nonce options are the paymaster's business.
 *
 * Wrong payments for negative tests: `extraCalls`; `transfer: {to, amount, token}` changes what the typed
 * data transfers while `authorization` still says `payTo`/`amount`/`asset`; `authorization: {...}` overrides
 * authorization fields; `validSeconds` < 0 or `executeBefore` in the past (expired window); `executeAfter`
 * in the future (not yet valid); `caller` another address; `tamperSignature` (s + 1: a signature that does not
 * verify); `version: '1'` (SNIP-9 v1 typed data).
 *
 * `spec: true`: the registered spec's payload shape (see the top of this file); `caller` defaults to
 * `requirements.extra.feePayer`; `authorization`, `paymaster` and `paymasterEndpoint` do not apply.
 *
 * @param {object} o
 * @param {import('starknet').Account | {address: string, privateKey: string}} o.account  the payer
 * @param {{scheme?: string, network: string, amount: string, asset: string, payTo: string, maxTimeoutSeconds?: number, extra?: object}} o.requirements
 *        x402 v2 PaymentRequirements (copied into `accepted` as given)
 * @param {string} [o.chainId]         default: the account's provider's, else the network's (STARKNET_CHAIN_IDS)
 * @param {string} [o.caller='ANY_CALLER']
 * @param {number} [o.validSeconds]    default: requirements.maxTimeoutSeconds, else 300
 * @param {number} [o.executeAfter=1]  (1, as the AVNU paymaster sets it when no time bounds are asked)
 * @param {number} [o.executeBefore]   default: now + validSeconds
 * @param {import('starknet').BigNumberish} [o.nonce]  default: a random felt
 * @param {Array<import('starknet').Call>} [o.extraCalls=[]]
 * @param {'1'|'2'} [o.version='2']
 * @param {{to?: string, amount?: bigint|string, token?: string}} [o.transfer]
 * @param {object} [o.authorization]
 * @param {boolean} [o.tamperSignature=false]
 * @param {{url: string, apiKey?: string}} [o.paymaster]
 * @param {string} [o.paymasterEndpoint]  put at the top level of the payload as daydreams' client does
 * @param {() => number} [o.now]          seconds
 * @param {boolean} [o.spec=false]        the registered spec's payload shape
 * @returns {Promise<{x402Version: 2, accepted: object, payload: {signature: {r: string, s: string}, authorization: {from: string, to: string, amount: string, token: string, nonce: string, validUntil: string}}, typedData: import('starknet').TypedData, paymasterEndpoint?: string}>}
 */
export async function createPayment({
  account,
  requirements,
  chainId,
  spec = false,
  caller = spec ? requirements.extra?.feePayer : 'ANY_CALLER',
  validSeconds,
  executeAfter = 1,
  executeBefore,
  nonce,
  extraCalls = [],
  version = '2',
  transfer = {},
  authorization = {},
  tamperSignature = false,
  paymaster,
  paymasterEndpoint,
  now = () => Math.floor(Date.now() / 1000),
}) {
  const { network, amount, asset, payTo } = requirements;
  const signer = signerOf(account);
  const sentAmount = BigInt(transfer.amount ?? amount);
  const calls = [
    {
      contractAddress: transfer.token ?? asset,
      entrypoint: 'transfer',
      calldata: [hex(transfer.to ?? payTo), hex(sentAmount & U128), hex(sentAmount >> 128n)],
    },
    ...extraCalls,
  ];

  let typedData;
  if (paymaster) {
    const built = await paymasterCall(paymaster, 'paymaster_buildTransaction', {
      transaction: { type: 'invoke', invoke: { user_address: hex(signer.address), calls: calls.map(toOutsideCall) } },
      parameters: { version: '0x1', fee_mode: { mode: 'sponsored' } },
    });
    typedData = built.typed_data;
  } else {
    const before = executeBefore ?? now() + (validSeconds ?? requirements.maxTimeoutSeconds ?? 300);
    typedData = outsideExecutionTypedData({
      version,
      chainId: await chainIdFor({ chainId, account, network }),
      caller,
      nonce: nonce ?? stark.randomAddress(),
      executeAfter,
      executeBefore: before,
      calls,
    });
  }
  const oe = parseOutsideExecution(typedData);

  const felts = signatureArray(await signer.sign(typedData));
  if (tamperSignature) felts[1] = hex(BigInt(felts[1]) + 1n);
  if (spec) {
    return { x402Version: 2, accepted: requirements, payload: { from: signer.address, outsideExecution: { typedData, signature: felts } } };
  }
  const signature = { r: felts[0], s: felts[1] };

  const payload = {
    x402Version: 2,
    accepted: requirements,
    payload: {
      signature,
      authorization: {
        from: signer.address,
        to: payTo,
        amount: String(amount),
        token: asset,
        nonce: oe.nonce,
        validUntil: BigInt(oe.execute_before).toString(),
        ...authorization,
      },
    },
    typedData,
  };
  const endpoint = paymasterEndpoint ?? requirements.extra?.paymasterEndpoint;
  if (endpoint !== undefined) payload.paymasterEndpoint = endpoint;
  return payload;
}

/** A starknet.js Account for `{address, privateKey}` on `rpcUrl` (an Account is returned as it is). */
export function starknetAccount(account, rpcUrl) {
  if (account instanceof Account) return account;
  if (!rpcUrl) throw new Error('rpcUrl is needed to make an Account of {address, privateKey}');
  return new Account({ provider: new RpcProvider({ nodeUrl: rpcUrl }), address: account.address, signer: account.privateKey });
}

/**
 * The revert reason in a starknet.js RPC error of a failed execution or fee estimate: the last
 * `('short string')` the node decoded, e.g. `SRC9: duplicated nonce`, `SRC9: invalid caller`,
 * `SRC9: invalid signature`, `SRC9: now >= execute_before`; null when there is none.
 */
export function executionFailureReason(error) {
  const text = JSON.stringify(error?.baseError?.data ?? null) + String(error?.message ?? '');
  const all = [...text.matchAll(/\('([^']*)'\)/g)];
  return all.length ? all[all.length - 1][1] : null;
}

/**
 * Submit a signed outside execution from `relayer` (an INVOKE v3 of `execute_from_outside_v2`, or
 * `execute_from_outside` for v1 typed data, on the payer's account), as a self-sponsoring facilitator does.
 * starknet.js estimates the fee first, so an execution the account refuses (used nonce, wrong caller, expired
 * window, bad signature) throws here before anything is sent, with the account's reason in `error.reason`
 * (see executionFailureReason). With `wait` (the default), resolves once the
 * transaction is accepted and throws if it reverted.
 *
 * @param {object} o
 * @param {import('starknet').Account | {address: string, privateKey: string}} o.relayer  pays the fee
 * @param {string} [o.rpcUrl]     needed when relayer is not an Account
 * @param {string} o.payer        the account that signed
 * @param {import('starknet').TypedData} o.typedData
 * @param {{r: string, s: string} | string[]} o.signature
 * @param {boolean} [o.wait=true]
 * @returns {Promise<string>} the transaction hash
 */
export async function submitOutsideExecution({ relayer, rpcUrl, payer, typedData, signature, wait = true }) {
  const account = starknetAccount(relayer, rpcUrl);
  const { version, ...execution } = parseOutsideExecution(typedData);
  const calls = outsideExecution.buildExecuteFromOutsideCall({
    outsideExecution: execution,
    signature: signatureArray(signature),
    signerAddress: payer,
    version,
  });
  let hash;
  try {
    // tip 0: starknet.js would otherwise estimate a tip from recent blocks (and warn that a devnet has none).
    ({ transaction_hash: hash } = await account.execute(calls, { tip: 0 }));
  } catch (e) {
    const reason = executionFailureReason(e);
    if (!reason) throw e;
    throw Object.assign(new Error(`outside execution refused: ${reason}`, { cause: e }), { reason });
  }
  if (wait) {
    const receipt = await account.provider.waitForTransaction(hash, { retryInterval: 100 });
    if (!receipt.isSuccess()) {
      throw new Error(`outside execution ${hash} reverted: ${receipt.value?.revert_reason ?? JSON.stringify(receipt.value)}`);
    }
  }
  return hash;
}
