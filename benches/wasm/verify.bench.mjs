// Benchmark, not a test: EIP-3009 verify with the npm package (@x402-edge/verify, built in pkg/) beside
// viem's verifyTypedData and @noble/curves (secp256k1 recovery over a keccak EIP-712 digest, as viem does it
// underneath), EIP-2612 likewise, and Solana `exact` verify beside @noble/curves' ed25519 (with and
// without @solana/kit's transaction decoder), all in this node process; then the cold import time of the
// package against `import('viem')`, each in a fresh node process. Prints a table and the ratios, then
// one JSON line for scripts/bench.sh.
// Usage: node benches/wasm/verify.bench.mjs [pkg dir] [seconds per sample] [cold runs] [rounds]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { ed25519 } from '@noble/curves/ed25519';
import { secp256k1 } from '@noble/curves/secp256k1';
import { getAddressEncoder, getBase64Encoder, getTransactionDecoder } from '@solana/kit';
import { keccak_256 } from '@noble/hashes/sha3';
import { verifyTypedData } from 'viem';

import { coldImportMs, opsPerCpuSecond } from './measure.mjs';

const pkgDir = path.resolve(process.argv[2] ?? 'pkg');
const seconds = Number(process.argv[3] ?? 2);
const coldRuns = Number(process.argv[4] ?? 7);
const rounds = Number(process.argv[5] ?? 5);
const entry = pathToFileURL(path.join(pkgDir, 'dist', 'node.js')).href;
const x402 = await import(entry);
// The positional export of the same wasm (instantiated by the entry above): no JSON on the way in.
const raw = await import(pathToFileURL(path.join(pkgDir, 'wasm', 'x402_edge.js')).href);

// The signed spec example (a real signature) and its own clock, as requirements and payload.
const vector = JSON.parse(readFileSync(new URL('../../tests/vectors/exact-evm-eip3009-spec-example.json', import.meta.url)));
const examples = JSON.parse(readFileSync(new URL('../../tests/vectors/api-examples.json', import.meta.url)));
const request = examples.coinbase_v2['POST /verify request'];
const SPEC_NOW = 1740672100;
const a = vector.authorization;
const d = vector.domainCases[0].domain;

const types = {
  TransferWithAuthorization: [
    { name: 'from', type: 'address' }, { name: 'to', type: 'address' }, { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' }, { name: 'validBefore', type: 'uint256' }, { name: 'nonce', type: 'bytes32' },
  ],
};
const message = { ...a, value: BigInt(a.value), validAfter: BigInt(a.validAfter), validBefore: BigInt(a.validBefore) };

// @noble: EIP-712 by hand (domain separator and struct hash each time, as a verifier must), then recovery.
const te = new TextEncoder();
const hex = (s) => Uint8Array.from(Buffer.from(s.replace(/^0x/, ''), 'hex'));
const word = (n) => hex(BigInt(n).toString(16).padStart(64, '0'));
const addr = (s) => word(BigInt(s));
const cat = (...parts) => { const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let o = 0; for (const p of parts) { out.set(p, o); o += p.length; } return out; };
const DOMAIN_TYPEHASH = keccak_256(te.encode('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'));
const TRANSFER_TYPEHASH = keccak_256(te.encode('TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)'));
const sigBytes = hex(vector.signature);
function viaNoble() {
  const domain = keccak_256(cat(DOMAIN_TYPEHASH, keccak_256(te.encode(d.name)), keccak_256(te.encode(d.version)), word(d.chainId), addr(d.verifyingContract)));
  const struct = keccak_256(cat(TRANSFER_TYPEHASH, addr(a.from), addr(a.to), word(a.value), word(a.validAfter), word(a.validBefore), hex(a.nonce)));
  const digest = keccak_256(cat(new Uint8Array([0x19, 0x01]), domain, struct));
  const v = sigBytes[64];
  const signature = secp256k1.Signature.fromCompact(sigBytes.subarray(0, 64)).addRecoveryBit(v >= 27 ? v - 27 : v);
  const pub = signature.recoverPublicKey(digest).toRawBytes(false);
  const address = keccak_256(pub.subarray(1)).subarray(12);
  return Buffer.from(address).toString('hex') === a.from.slice(2).toLowerCase();
}

const cases = [
  ['package verifyPayment (offline: parse + every check)', () => x402.verifyPaymentOffline(request.paymentPayload, request.paymentRequirements, { now: SPEC_NOW }).isValid],
  ['package recoverAuthorizationSigner (digest + recover)', () => x402.recoverAuthorizationSigner(a, vector.signature, d) === a.from],
  ['wasm recoverEip3009Signer (positional)', () => raw.recoverEip3009Signer(a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, vector.signature, d.name, d.version, d.chainId, d.verifyingContract) === a.from],
  ['viem verifyTypedData', () => verifyTypedData({ address: a.from, domain: d, types, primaryType: 'TransferWithAuthorization', message, signature: vector.signature })],
  ['@noble/curves recover + keccak EIP-712', viaNoble],
];

// EIP-2612: the signed daydreams upto permit of the generated vectors, as an upto payment.
const permitVector = JSON.parse(readFileSync(new URL('../../tests/vectors/generated-evm-signatures.json', import.meta.url)))
  .eip2612PermitForDaydreamsUpto;
const upto = permitVector.v2PaymentPayload;
const pm = permitVector.message;
const permitTypes = {
  Permit: [
    { name: 'owner', type: 'address' }, { name: 'spender', type: 'address' }, { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' }, { name: 'deadline', type: 'uint256' },
  ],
};
const permitMessage = { ...pm, value: BigInt(pm.value), nonce: BigInt(pm.nonce), deadline: BigInt(pm.deadline) };
const permitCases = [
  ['package verifyPayment, upto (parse + every check)', () => x402.verifyPaymentOffline(upto, upto.accepted, { now: SPEC_NOW, spenders: [pm.spender] }).isValid],
  ['viem verifyTypedData (Permit)', () => verifyTypedData({ address: pm.owner, domain: permitVector.domain, types: permitTypes, primaryType: 'Permit', message: permitMessage, signature: permitVector.signature })],
];

// Solana: the independently generated v0 payment (tests/vectors/svm-exact-v0.json) as a v2 payment.
const sv = JSON.parse(readFileSync(new URL('../../tests/vectors/svm-exact-v0.json', import.meta.url))).transferV0;
const svmRequirements = {
  scheme: 'exact', network: 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1', amount: sv.amount, asset: sv.mint, payTo: sv.payTo,
  maxTimeoutSeconds: 60, extra: { feePayer: sv.feePayer, memo: sv.memo },
};
const svmPayload = { x402Version: 2, accepted: svmRequirements, payload: { transaction: sv.transaction } };
const authorityKey = getAddressEncoder().encode(sv.authority);
const decoder = getTransactionDecoder();
const wireOf = (text) => getBase64Encoder().encode(text);
// The bare signature check: the message bytes follow the two signatures (1 length byte + 2 × 64).
function nobleEd25519() {
  const wire = wireOf(sv.transaction);
  return ed25519.verify(wire.subarray(65, 129), wire.subarray(129), authorityKey);
}
// What a JS verifier does at least: decode the transaction, then check the client's signature.
function kitAndNoble() {
  const tx = decoder.decode(wireOf(sv.transaction));
  return ed25519.verify(tx.signatures[sv.authority], tx.messageBytes, authorityKey);
}
const svmCases = [
  ['package verifyPayment, Solana (parse + every check)', () => x402.verifyPaymentOffline(svmPayload, svmRequirements, { feePayers: [sv.feePayer] }).isValid],
  ['@solana/kit decode + @noble ed25519 verify', kitAndNoble],
  ['@noble/curves ed25519 verify (signature only)', nobleEd25519],
];

const ops = await opsPerCpuSecond([...cases, ...permitCases, ...svmCases], { seconds, rounds });
const results = cases.map(([name]) => ({ name, ops: ops[name] }));
const viem = ops['viem verifyTypedData'];
const noble = ops['@noble/curves recover + keccak EIP-712'];
console.log(`\nEIP-3009 verify, operations per CPU-second, median of ${rounds} interleaved rounds of ${seconds} s (node ${process.version}):`);
console.log(`${'case'.padEnd(54)} ${'ops/s'.padStart(9)} ${'vs viem'.padStart(8)} ${'vs noble'.padStart(9)}`);
for (const r of results) {
  console.log(`${r.name.padEnd(54)} ${r.ops.toFixed(0).padStart(9)} ${(r.ops / viem).toFixed(1).padStart(7)}x ${(r.ops / noble).toFixed(1).padStart(8)}x`);
}

const permitOps = Object.fromEntries(permitCases.map(([name]) => [name, ops[name]]));
const viemPermit = permitOps['viem verifyTypedData (Permit)'];
console.log(`\nEIP-2612 (upto permit) verify, operations per CPU-second:`);
for (const [name, n] of Object.entries(permitOps)) {
  console.log(`${name.padEnd(54)} ${n.toFixed(0).padStart(9)} ${(n / viemPermit).toFixed(1).padStart(7)}x`);
}

const svmOps = Object.fromEntries(svmCases.map(([name]) => [name, ops[name]]));
const nobleEd = svmOps['@noble/curves ed25519 verify (signature only)'];
const kit = svmOps['@solana/kit decode + @noble ed25519 verify'];
console.log(`\nSolana exact verify, operations per CPU-second:`);
console.log(`${'case'.padEnd(54)} ${'ops/s'.padStart(9)} ${'vs kit'.padStart(8)} ${'vs noble'.padStart(9)}`);
for (const [name, n] of Object.entries(svmOps)) {
  console.log(`${name.padEnd(54)} ${n.toFixed(0).padStart(9)} ${(n / kit).toFixed(1).padStart(7)}x ${(n / nobleEd).toFixed(1).padStart(8)}x`);
}

// Cold import: a fresh node process per run.
const coldPkg = coldImportMs(entry, coldRuns);
const coldViem = coldImportMs('viem', coldRuns);
const coldNoble = coldImportMs('@noble/curves/secp256k1', coldRuns);
console.log(`\ncold import, median of ${coldRuns} fresh node processes:`);
console.log(`  @x402-edge/verify (node entry, wasm compiled and instantiated)  ${coldPkg.toFixed(1).padStart(7)} ms`);
console.log(`  viem                                                            ${coldViem.toFixed(1).padStart(7)} ms   (${(coldViem / coldPkg).toFixed(1)}x the package)`);
console.log(`  @noble/curves/secp256k1                                         ${coldNoble.toFixed(1).padStart(7)} ms`);
console.log(JSON.stringify({
  wasmOpsPerCpuSecond: ops['wasm recoverEip3009Signer (positional)'],
  packageVerifyOpsPerCpuSecond: ops['package verifyPayment (offline: parse + every check)'],
  viemOpsPerCpuSecond: viem,
  nobleOpsPerCpuSecond: noble,
  packageSvmVerifyOpsPerCpuSecond: svmOps['package verifyPayment, Solana (parse + every check)'],
  nobleEd25519OpsPerCpuSecond: nobleEd,
  coldImportMs: { package: coldPkg, viem: coldViem, noble: coldNoble },
}));
