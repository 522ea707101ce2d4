// `npm run bench:signers`: a benchmark, not a test (issue 17, "throughput per signer"). Settle
// throughput of the Worker as its EVM signer keys grow: for each count in --signers (default 1,2,4) a
// fresh local stack (anvil, `wrangler dev`) whose EVM_PRIVATE_KEY lists that many keys (anvil's #9, then
// the public test mnemonic's accounts 10, 11, …, funded with anvil_setBalance), then --rounds bursts of
// --burst fresh v2 `exact` EIP-3009 payments (signed by the official client over six payers), at most
// --in-flight outstanding. Every settle must succeed; each transaction is read back from the chain to
// count how the payments spread over the signers. Prints settles/s per key count and per signer.
// Options: --signers 1,2,4  --burst 100  --in-flight 50  --rounds 3  --quick  --json
import { parseArgs } from 'node:util';

import { x402Client } from '@x402/core/client';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';

import { burst, clientsInTurn, median, positive, settleBodies } from './lib/bench.mjs';
import { ANVIL_MNEMONIC, rpc } from './lib/chain.mjs';
import { FACILITATOR_ACCOUNT, startStack } from './lib/stack.mjs';

const { values: opts } = parseArgs({
  options: {
    signers: { type: 'string', default: '1,2,4' },
    burst: { type: 'string' },
    'in-flight': { type: 'string', default: '50' },
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const SIGNER_COUNTS = opts.signers.split(',').map((t) => positive('signers', t));
const BURST = positive('burst', opts.burst ?? (opts.quick ? '20' : '100'));
const IN_FLIGHT = positive('in-flight', opts['in-flight']);
const ROUNDS = positive('rounds', opts.rounds ?? (opts.quick ? '1' : '3'));
const CHAIN_ID = 84532;
const NETWORK = `eip155:${CHAIN_ID}`;
const PAYERS = [0, 1, 3, 4, 5, 6];
const PAY_TO_INDEX = 2;
const RESOURCE = { url: 'http://bench.local/signers', description: 'bench:signers', mimeType: 'application/json' };
const log = (m) => process.stderr.write(`[bench:signers] ${m}\n`);

/** `count` signer keys: anvil's #9 (the stack's default), then the test mnemonic's accounts from 10. */
function signerKeys(count) {
  const keys = [FACILITATOR_ACCOUNT.privateKey];
  for (let i = 10; keys.length < count; i++) {
    const account = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: i });
    keys.push(`0x${Buffer.from(account.getHdKey().privateKey).toString('hex')}`);
  }
  return keys;
}

async function measure(count) {
  const keys = signerKeys(count);
  const stack = await startStack({
    local: true,
    localSvm: false,
    localStarknet: false,
    chainPort: 0,
    workerPort: 0,
    chainId: CHAIN_ID,
    log,
    env: { EVM_PRIVATE_KEY: keys.join(',') },
  });
  try {
    const signers = keys.map((k) => privateKeyToAccount(k).address.toLowerCase());
    for (const address of signers) await rpc(stack.rpcUrl, 'anvil_setBalance', [address, '0x56BC75E2D63100000']); // 100 ETH
    const requirements = {
      scheme: 'exact', network: NETWORK, amount: '10000', asset: stack.token.address,
      payTo: stack.accounts[PAY_TO_INDEX].address, maxTimeoutSeconds: 300,
      extra: { name: stack.token.name, version: stack.token.version },
    };
    const clients = PAYERS.map((i) =>
      new x402Client()
        .register('eip155:*', new ExactEvmScheme(toClientEvmSigner(privateKeyToAccount(stack.accounts[i].privateKey))))
        .setSpendControls({ allowedAssets: [{ network: NETWORK, asset: stack.token.address }] }),
    );
    const pay = clientsInTurn(clients, requirements, RESOURCE);
    // Warm-up: one settle per signer's share, untimed.
    const warm = await burst(stack.facilitatorUrl, await settleBodies(2 * count, requirements, pay), IN_FLIGHT);
    if (warm.failures.length) throw new Error(`warm-up: ${warm.failures[0]}`);
    const rounds = [];
    const perSigner = Object.fromEntries(signers.map((s) => [s, 0]));
    for (let round = 0; round < ROUNDS; round++) {
      const result = await burst(stack.facilitatorUrl, await settleBodies(BURST, requirements, pay), IN_FLIGHT);
      if (result.failures.length) throw new Error(`${result.failures.length} of ${BURST} settles failed: ${result.failures[0]}`);
      for (const hash of result.transactions) {
        const tx = await rpc(stack.rpcUrl, 'eth_getTransactionByHash', [hash]);
        const from = tx?.from?.toLowerCase();
        if (!(from in perSigner)) throw new Error(`settle ${hash} was sent by ${from}, not one of the signers`);
        perSigner[from]++;
      }
      const rps = BURST / (result.wallMs / 1000);
      rounds.push(rps);
      log(`${count} signer(s), round ${round + 1}/${ROUNDS}: ${BURST} settles in ${result.wallMs.toFixed(0)} ms (${rps.toFixed(1)}/s)`);
    }
    return { signers: count, settlesPerSecond: median(rounds), perSignerPerSecond: median(rounds) / count, spread: Object.values(perSigner) };
  } finally {
    await stack.stop();
  }
}

let exitCode = 0;
try {
  const results = [];
  for (const count of SIGNER_COUNTS) results.push(await measure(count));
  console.log(`\nsettle throughput by signer keys (EVM on a local anvil, automine; bursts of ${BURST}, ${IN_FLIGHT} in flight; medians of ${ROUNDS} rounds):`);
  const base = results[0].settlesPerSecond;
  for (const r of results) {
    console.log(`  ${String(r.signers).padStart(2)} key(s): ${r.settlesPerSecond.toFixed(1).padStart(6)} settles/s (${(r.settlesPerSecond / base).toFixed(2)}x), ` +
      `${r.perSignerPerSecond.toFixed(1)} per signer; payments per signer ${r.spread.join(' / ')}`);
  }
  if (opts.json) console.log(JSON.stringify({ burst: BURST, inFlight: IN_FLIGHT, rounds: ROUNDS, results }));
} catch (e) {
  exitCode = 1;
  console.error(`[bench:signers] ${e instanceof Error ? e.stack : e}`);
}
process.exit(exitCode);
