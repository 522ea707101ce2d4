// A small SNIP-29 paymaster on 127.0.0.1, a stand-in for AVNU's (https://starknet.paymaster.avnu.fi) in tests
// and the dev stack: it builds SNIP-9 v2 outside executions for a user's calls and submits signed ones with
// `execute_from_outside_v2` from a relayer account it holds (on a devnet: a predeployed account).
//
// It is strict about what it receives, so tests can trust a facilitator that it accepts: the method names of
// starknet-io/types-js (paymaster_isAvailable, paymaster_buildTransaction, paymaster_executeTransaction,
// paymaster_getSupportedTokens), by-name params with exactly the SNIP-29 field names, `version: "0x1"`,
// `fee_mode: {mode: "sponsored"}`, hex felts everywhere (the signature as an array of them), the
// `x-paymaster-api-key` header when started with an api key, `content-type: application/json`, and POST /.
// Every request is recorded (requests()) with its headers and the answer, for assertions on what was sent.
//
// Errors: JSON-RPC -32700 (not JSON), -32600 (not a JSON-RPC 2.0 request), -32601 (unknown method), -32602
// (a field missing, unknown, or of the wrong type); SNIP-29 150 INVALID_ADDRESS (user_address not a felt, or
// no contract there), 151 TOKEN_NOT_SUPPORTED (fee_mode default with a token it does not list), 153
// INVALID_SIGNATURE (not an array of hex felts, or the account's is_valid_signature refuses it), 156
// TRANSACTION_EXECUTION_ERROR (the node refused the execution; `data.execution_error` holds the account's
// reason, e.g. "SRC9: duplicated nonce"), 157 INVALID_TIME_BOUNDS, 163 UNKNOWN_ERROR (a wrong or missing api
// key, with HTTP 401; anything this stand-in does not model).
//
// What it does NOT model: fees (sponsored only: `fee` is all zeros, a `default` fee mode is refused with 163
// after its shape is checked, no gas-token transfer is added to the calls), AVNU's forwarder contract (the
// relayer account submits `execute_from_outside_v2` itself, and is the typed data's Caller unless started
// with caller 'ANY_CALLER'), SNIP-9 version detection (always v2: devnet's accounts implement only
// `execute_from_outside_v2` but do not announce it through SRC5), account deployment (`deploy`,
// `deploy_and_invoke`), tracking ids that lead anywhere, rate limits, and retries. It answers once the
// transaction is submitted (AVNU does too); whether it succeeded is for the caller to check on the node.

import * as http from 'node:http';

import { RpcProvider, num, shortString, typedData as snip12 } from 'starknet';

import { executionFailureReason, outsideExecutionTypedData, parseOutsideExecution, starknetAccount, submitOutsideExecution } from './starknet-client.mjs';
import { STRK_ADDRESS } from './starknet-devnet.mjs';

const PRIME = 2n ** 251n + 17n * 2n ** 192n + 1n;
const hex = (n) => num.toHex(n);

/** SNIP-29 error codes (starknet-io/types-js src/snip-29/errors.ts). */
export const PAYMASTER_ERRORS = Object.freeze({
  INVALID_ADDRESS: 150,
  TOKEN_NOT_SUPPORTED: 151,
  INVALID_SIGNATURE: 153,
  MAX_AMOUNT_TOO_LOW: 154,
  CLASS_HASH_NOT_SUPPORTED: 155,
  TRANSACTION_EXECUTION_ERROR: 156,
  INVALID_TIME_BOUNDS: 157,
  INVALID_DEPLOYMENT_DATA: 158,
  INVALID_CLASS_HASH: 159,
  INVALID_ID: 160,
  UNKNOWN_ERROR: 163,
});
const NAME_OF = Object.fromEntries(Object.entries(PAYMASTER_ERRORS).map(([k, v]) => [v, k]));

class RpcFailure extends Error {
  constructor(code, message, data) {
    super(message);
    Object.assign(this, { code, data });
  }
}
/** A SNIP-29 error: its message as types-js spells it, `data` when given. */
const snip29 = (code, data) => new RpcFailure(code, `An error occurred (${NAME_OF[code]})`, data);
const invalidParams = (data) => new RpcFailure(-32602, 'Invalid params', data);

// ---------------------------------------------------------------------------------------------------
// Shape checks

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const isHexFelt = (v) => typeof v === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(v) && BigInt(v) < PRIME;

/** A typed-data domain field as a felt: a number, or a short string such as 'SN_SEPOLIA'; null when neither. */
function domainFelt(value) {
  try {
    return BigInt(value);
  } catch {
    return typeof value === 'string' ? BigInt(shortString.encodeShortString(value)) : null;
  }
}

/** `value` is an object with every key of `required`, some of `optional`, and nothing else. */
function expectKeys(value, where, required, optional = []) {
  if (!isObject(value)) throw invalidParams(`${where} must be an object`);
  for (const k of required) if (!(k in value)) throw invalidParams(`${where}.${k} is missing`);
  for (const k of Object.keys(value)) {
    if (!required.includes(k) && !optional.includes(k)) throw invalidParams(`${where}.${k} is not a field of ${where}`);
  }
}

function expectFelt(value, where, code) {
  if (isHexFelt(value)) return;
  const why = `${where} must be a 0x-prefixed hex felt, got ${JSON.stringify(value)}`;
  throw code ? snip29(code, why) : invalidParams(why);
}

function expectFeltArray(value, where, code) {
  if (!Array.isArray(value)) {
    const why = `${where} must be an array of hex felts, got ${JSON.stringify(value)}`;
    throw code ? snip29(code, why) : invalidParams(why);
  }
  value.forEach((v, i) => expectFelt(v, `${where}[${i}]`, code));
}

/** No params, `[]` or `{}`. */
function expectNoParams(params, method) {
  const none = params === undefined || (Array.isArray(params) && params.length === 0) || (isObject(params) && Object.keys(params).length === 0);
  if (!none) throw invalidParams(`${method} takes no params`);
}

/** EXECUTION_PARAMETERS `{version: "0x1", fee_mode, time_bounds?}`; returns the sponsored time bounds or null. */
function checkExecutionParameters(parameters, tokens) {
  expectKeys(parameters, 'parameters', ['version', 'fee_mode'], ['time_bounds']);
  if (parameters.version !== '0x1') throw invalidParams(`parameters.version must be "0x1", got ${JSON.stringify(parameters.version)}`);
  const feeMode = parameters.fee_mode;
  if (!isObject(feeMode) || (feeMode.mode !== 'sponsored' && feeMode.mode !== 'default')) {
    throw invalidParams(`parameters.fee_mode must be {mode: "sponsored"} or {mode: "default", gas_token}, got ${JSON.stringify(feeMode)}`);
  }
  if (feeMode.mode === 'sponsored') {
    expectKeys(feeMode, 'parameters.fee_mode', ['mode']);
  } else {
    expectKeys(feeMode, 'parameters.fee_mode', ['mode', 'gas_token']);
    expectFelt(feeMode.gas_token, 'parameters.fee_mode.gas_token');
    if (!tokens.some((t) => BigInt(t.token_address) === BigInt(feeMode.gas_token))) {
      throw snip29(PAYMASTER_ERRORS.TOKEN_NOT_SUPPORTED, `gas token ${feeMode.gas_token} is not supported`);
    }
  }
  let bounds = null;
  if (parameters.time_bounds !== undefined) {
    const tb = parameters.time_bounds;
    expectKeys(tb, 'parameters.time_bounds', ['execute_after', 'execute_before']);
    for (const k of ['execute_after', 'execute_before']) {
      if (!Number.isSafeInteger(tb[k]) || tb[k] < 0) throw invalidParams(`parameters.time_bounds.${k} must be a non-negative integer (seconds)`);
    }
    const now = Math.floor(Date.now() / 1000);
    if (!(tb.execute_after < tb.execute_before) || tb.execute_before <= now) {
      throw snip29(PAYMASTER_ERRORS.INVALID_TIME_BOUNDS, `time bounds ${tb.execute_after}..${tb.execute_before} do not include now (${now})`);
    }
    bounds = tb;
  }
  if (feeMode.mode === 'default') throw snip29(PAYMASTER_ERRORS.UNKNOWN_ERROR, 'this stand-in paymaster sponsors only: fee_mode default is not modeled');
  return bounds;
}

/** `transaction` of buildTransaction/executeTransaction: `{type: "invoke", invoke}`, invoke's keys checked by the caller. */
function checkInvokeTransaction(transaction, invokeKeys) {
  expectKeys(transaction, 'transaction', ['type'], ['invoke', 'deployment']);
  if (transaction.type !== 'invoke') {
    throw invalidParams(`transaction.type ${JSON.stringify(transaction.type)}: only "invoke" is served by this stand-in`);
  }
  expectKeys(transaction, 'transaction', ['type', 'invoke']);
  expectKeys(transaction.invoke, 'transaction.invoke', invokeKeys);
  expectFelt(transaction.invoke.user_address, 'transaction.invoke.user_address', PAYMASTER_ERRORS.INVALID_ADDRESS);
  return transaction.invoke;
}

// ---------------------------------------------------------------------------------------------------
// Server

/**
 * Start the paymaster on 127.0.0.1.
 *
 * @param {object} o
 * @param {string} o.rpcUrl                  the node (a devnet's `url`)
 * @param {{address: string, privateKey: string}} o.relayer  the account that submits (and pays the fee)
 * @param {string} [o.apiKey]                require this `x-paymaster-api-key`
 * @param {number} [o.port=0]                0 = a free port
 * @param {'relayer'|'ANY_CALLER'} [o.caller='relayer']  the Caller of the typed data it builds
 * @param {number} [o.validSeconds=3600]     execute_before = now + this when no time_bounds are asked
 *                                           (execute_after is then 1, as AVNU's paymaster does)
 * @param {Array<{token_address: string, decimals: number, price_in_strk: string}>} [o.tokens]
 *                                           paymaster_getSupportedTokens (default: STRK at 1 STRK)
 * @param {boolean} [o.available=true]       paymaster_isAvailable's answer
 * @returns {Promise<{url: string, port: number, relayer: string,
 *   requests: () => Array<{method: string|null, params: any, id: any, headers: Record<string, string>, path: string, body: any, status: number, response: any}>,
 *   clearRequests: () => void, close: () => Promise<void>}>}
 */
export async function startPaymaster({
  rpcUrl,
  relayer,
  apiKey,
  port = 0,
  caller = 'relayer',
  validSeconds = 3600,
  tokens = [{ token_address: STRK_ADDRESS, decimals: 18, price_in_strk: '0xde0b6b3a7640000' }],
  available = true,
}) {
  if (!rpcUrl || !relayer?.address) throw new Error('startPaymaster needs rpcUrl and relayer {address, privateKey}');
  if (caller !== 'relayer' && caller !== 'ANY_CALLER') throw new Error(`caller must be 'relayer' or 'ANY_CALLER', not ${caller}`);
  const provider = new RpcProvider({ nodeUrl: rpcUrl });
  const relayerAccount = starknetAccount(relayer, rpcUrl);
  const chainId = await provider.getChainId();
  /** @type {any[]} */
  const log = [];
  // One relayer, one account nonce: submissions go one at a time.
  let queue = Promise.resolve();
  const serially = (fn) => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };

  const requireAccount = async (address) => {
    try {
      await provider.getClassHashAt(address);
    } catch {
      throw snip29(PAYMASTER_ERRORS.INVALID_ADDRESS, `no contract at ${address}`);
    }
  };

  const methods = {
    paymaster_isAvailable(params) {
      expectNoParams(params, 'paymaster_isAvailable');
      return available;
    },

    paymaster_getSupportedTokens(params) {
      expectNoParams(params, 'paymaster_getSupportedTokens');
      return tokens;
    },

    async paymaster_buildTransaction(params) {
      expectKeys(params, 'params', ['transaction', 'parameters']);
      const invoke = checkInvokeTransaction(params.transaction, ['user_address', 'calls']);
      if (!Array.isArray(invoke.calls) || invoke.calls.length === 0) throw invalidParams('transaction.invoke.calls must be a non-empty array');
      invoke.calls.forEach((c, i) => {
        const where = `transaction.invoke.calls[${i}]`;
        expectKeys(c, where, ['to', 'selector', 'calldata']);
        expectFelt(c.to, `${where}.to`);
        expectFelt(c.selector, `${where}.selector`);
        expectFeltArray(c.calldata, `${where}.calldata`);
      });
      const bounds = checkExecutionParameters(params.parameters, tokens);
      await requireAccount(invoke.user_address);
      const typed = outsideExecutionTypedData({
        version: '2',
        chainId,
        caller: caller === 'relayer' ? relayerAccount.address : 'ANY_CALLER',
        // A fresh nonce per build, a random u128 as AVNU's (uuid v4).
        nonce: `0x${crypto.getRandomValues(new Uint8Array(16)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '')}`,
        executeAfter: bounds?.execute_after ?? 1,
        executeBefore: bounds?.execute_before ?? Math.floor(Date.now() / 1000) + validSeconds,
        calls: invoke.calls,
      });
      const zero = '0x0';
      return {
        type: 'invoke',
        typed_data: typed,
        parameters: params.parameters,
        fee: {
          gas_token_price_in_strk: tokens[0]?.price_in_strk ?? zero,
          estimated_fee_in_strk: zero,
          estimated_fee_in_gas_token: zero,
          suggested_max_fee_in_strk: zero,
          suggested_max_fee_in_gas_token: zero,
        },
      };
    },

    async paymaster_executeTransaction(params) {
      expectKeys(params, 'params', ['transaction', 'parameters']);
      const invoke = checkInvokeTransaction(params.transaction, ['user_address', 'typed_data', 'signature']);
      expectFeltArray(invoke.signature, 'transaction.invoke.signature', PAYMASTER_ERRORS.INVALID_SIGNATURE);
      let execution;
      let messageHash;
      try {
        execution = parseOutsideExecution(invoke.typed_data);
        if (execution.version !== '2') throw new Error('SNIP-9 v1 typed data: the accounts here speak v2 only');
        if (domainFelt(invoke.typed_data.domain?.chainId) !== BigInt(chainId)) {
          throw new Error(`domain chainId ${JSON.stringify(invoke.typed_data.domain?.chainId)} is not this network's (${chainId})`);
        }
        messageHash = snip12.getMessageHash(invoke.typed_data, invoke.user_address);
      } catch (e) {
        throw invalidParams(`transaction.invoke.typed_data: ${e.message}`);
      }
      checkExecutionParameters(params.parameters, tokens);
      await requireAccount(invoke.user_address);

      // SNIP-6 first, so a bad signature is INVALID_SIGNATURE rather than an execution error.
      let valid;
      try {
        const [answer] = await provider.callContract({
          contractAddress: invoke.user_address,
          entrypoint: 'is_valid_signature',
          calldata: [messageHash, hex(invoke.signature.length), ...invoke.signature],
        });
        valid = BigInt(answer) !== 0n;
      } catch {
        valid = false;
      }
      if (!valid) throw snip29(PAYMASTER_ERRORS.INVALID_SIGNATURE, `${invoke.user_address} does not accept the signature of message ${messageHash}`);

      return serially(async () => {
        try {
          const hash = await submitOutsideExecution({
            relayer: relayerAccount,
            payer: invoke.user_address,
            typedData: invoke.typed_data,
            signature: invoke.signature,
            wait: false,
          });
          return { tracking_id: hash, transaction_hash: hash };
        } catch (e) {
          throw snip29(PAYMASTER_ERRORS.TRANSACTION_EXECUTION_ERROR, {
            execution_error: e.reason ?? executionFailureReason(e.cause) ?? e.message,
          });
        }
      });
    },
  };

  /** One JSON-RPC request object to its response object (null for a notification). */
  const answer = async (request, record) => {
    const id = isObject(request) && 'id' in request ? request.id : null;
    try {
      if (!isObject(request) || request.jsonrpc !== '2.0' || typeof request.method !== 'string') {
        throw new RpcFailure(-32600, 'Invalid Request');
      }
      record.method = request.method;
      record.params = request.params;
      record.id = id;
      const fn = Object.hasOwn(methods, request.method) ? methods[request.method] : null;
      if (!fn) throw new RpcFailure(-32601, 'Method not found', request.method);
      const result = await fn(request.params);
      return { jsonrpc: '2.0', id, result };
    } catch (e) {
      const error = e instanceof RpcFailure ? e : snip29(PAYMASTER_ERRORS.UNKNOWN_ERROR, String(e?.message ?? e));
      return { jsonrpc: '2.0', id, error: { code: error.code, message: error.message, ...(error.data !== undefined && { data: error.data }) } };
    }
  };

  const handle = async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const text = Buffer.concat(chunks).toString('utf8');
    const record = { method: null, params: undefined, id: null, headers: { ...req.headers }, path: req.url, body: text, status: 200, response: null };
    log.push(record);
    const send = (status, body) => {
      record.status = status;
      record.response = body;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/') {
      return send(req.method === 'POST' ? 404 : 405, { jsonrpc: '2.0', id: null, error: { code: -32600, message: `only POST / is served (got ${req.method} ${req.url})` } });
    }
    let body;
    try {
      body = JSON.parse(text);
      record.body = body;
    } catch {
      return send(200, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    }
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      return send(415, { jsonrpc: '2.0', id: null, error: { code: -32600, message: `content-type must be application/json, got ${req.headers['content-type'] ?? 'none'}` } });
    }
    if (apiKey !== undefined && req.headers['x-paymaster-api-key'] !== apiKey) {
      const why = req.headers['x-paymaster-api-key'] === undefined ? 'missing x-paymaster-api-key header' : 'invalid x-paymaster-api-key';
      if (isObject(body)) Object.assign(record, { method: body.method ?? null, params: body.params, id: body.id ?? null });
      return send(401, { jsonrpc: '2.0', id: isObject(body) ? body.id ?? null : null, error: { code: 163, message: 'An error occurred (UNKNOWN_ERROR)', data: why } });
    }
    if (Array.isArray(body)) {
      // A batch: one record per request, the HTTP exchange kept on the first.
      if (body.length === 0) return send(200, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request' } });
      log.pop();
      const records = body.map(() => ({ ...record, body }));
      log.push(...records);
      const answers = await Promise.all(body.map((r, i) => answer(r, records[i])));
      records.forEach((r, i) => (r.response = answers[i]));
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(answers));
    }
    send(200, await answer(body, record));
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: 163, message: 'An error occurred (UNKNOWN_ERROR)', data: String(e?.message ?? e) } }));
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = server.address().port;

  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    relayer: relayerAccount.address,
    /** Every request received so far, oldest first (copies). */
    requests: () => structuredClone(log),
    clearRequests: () => {
      log.length = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
