// Generates tests/vectors/svm-exact-v0.json: associated token addresses and one signed v0
// TransferChecked transaction, derived independently of the Rust code in src/chains/svm.
//
// @solana/kit and @solana/web3.js are not installed in this repository, so the Solana-specific parts
// (PDA search, v0 message layout) are written here from the Solana documentation, on top of
// independent primitives: @noble/hashes (SHA-256), @noble/curves (ed25519 signing and the curve-point
// check) and @scure/base (base58), all dependencies of viem already in node_modules.
//
// Run from a checkout with node_modules (or point NODE_PATH at one):
//   NODE_PATH=$PWD/node_modules node tests/vectors/svm-generate.cjs > tests/vectors/svm-exact-v0.json
"use strict";
const { ed25519 } = require("@noble/curves/ed25519");
const { sha256 } = require("@noble/hashes/sha2");
const { base58 } = require("@scure/base");

const TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
const TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";
const ATA_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL";
const COMPUTE_BUDGET = "ComputeBudget111111111111111111111111111111";
const MEMO = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr";
const USDC_DEVNET = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU";
const USDC_MAINNET = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";

const enc = new TextEncoder();
const key32 = (text) => {
  const bytes = base58.decode(text);
  if (bytes.length !== 32) throw new Error(`${text} is ${bytes.length} bytes, not 32`);
  return bytes;
};
const hex = (b) => Buffer.from(b).toString("hex");
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

function onCurve(bytes) {
  try {
    ed25519.ExtendedPoint.fromHex(bytes);
    return true;
  } catch {
    return false;
  }
}

function findProgramAddress(seeds, programId) {
  for (let bump = 255; bump >= 0; bump--) {
    const hash = sha256(concat(...seeds, Uint8Array.of(bump), key32(programId), enc.encode("ProgramDerivedAddress")));
    if (!onCurve(hash)) return [base58.encode(hash), bump];
  }
  throw new Error("no viable bump");
}

const ata = (owner, mint, tokenProgram) =>
  findProgramAddress([key32(owner), key32(tokenProgram), key32(mint)], ATA_PROGRAM)[0];

// Deterministic keys: the seed is SHA-256 of a label.
const seedOf = (label) => sha256(enc.encode(`x402-edge svm vector ${label}`));
const keyOf = (label) => {
  const seed = seedOf(label);
  return { seed: hex(seed), pubkey: base58.encode(ed25519.getPublicKey(seed)) };
};

const facilitator = keyOf("fee payer");
const client = keyOf("client");
const payTo = keyOf("pay to");

const ataVectors = [];
for (const owner of [client.pubkey, payTo.pubkey, facilitator.pubkey, TOKEN, "11111111111111111111111111111111"]) {
  for (const mint of [USDC_DEVNET, USDC_MAINNET]) {
    for (const tokenProgram of [TOKEN, TOKEN_2022]) {
      ataVectors.push({ owner, mint, tokenProgram, address: ata(owner, mint, tokenProgram) });
    }
  }
}

// compact-u16
function shortvec(n) {
  const out = [];
  for (;;) {
    let b = n & 0x7f;
    n >>= 7;
    if (n === 0) {
      out.push(b);
      return Uint8Array.from(out);
    }
    out.push(b | 0x80);
  }
}
const u32le = (n) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
const u64le = (n) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};

const mint = USDC_DEVNET;
const source = ata(client.pubkey, mint, TOKEN);
const destination = ata(payTo.pubkey, mint, TOKEN);
const amount = "10000";
const decimals = 6;
const computeUnitLimit = 200000;
const computeUnitPrice = 1000;
const memo = "x402-edge vector 0123456789abcdef";
const recentBlockhash = base58.encode(sha256(enc.encode("x402-edge svm vector blockhash")));

// Account order: writable signers, read-only signers, writable non-signers, read-only non-signers.
const keys = [facilitator.pubkey, client.pubkey, source, destination, mint, COMPUTE_BUDGET, TOKEN, MEMO];
const idx = (k) => keys.indexOf(k);
const header = Uint8Array.of(2, 1, 4);
const instruction = (program, accounts, data) =>
  concat(Uint8Array.of(idx(program)), shortvec(accounts.length), Uint8Array.from(accounts.map(idx)), shortvec(data.length), data);
const instructions = [
  instruction(COMPUTE_BUDGET, [], concat(Uint8Array.of(2), u32le(computeUnitLimit))),
  instruction(COMPUTE_BUDGET, [], concat(Uint8Array.of(3), u64le(computeUnitPrice))),
  instruction(TOKEN, [source, mint, destination, client.pubkey], concat(Uint8Array.of(12), u64le(amount), Uint8Array.of(decimals))),
  instruction(MEMO, [], enc.encode(memo)),
];
const message = concat(
  Uint8Array.of(0x80),
  header,
  shortvec(keys.length),
  ...keys.map(key32),
  key32(recentBlockhash),
  shortvec(instructions.length),
  ...instructions,
  shortvec(0),
);
const clientSignature = ed25519.sign(message, seedOf("client"));
const transaction = concat(shortvec(2), new Uint8Array(64), clientSignature, message);

process.stdout.write(
  JSON.stringify(
    {
      generator: "tests/vectors/svm-generate.cjs (@noble/curves 1.9, @noble/hashes 1.8, @scure/base 1.2)",
      associatedTokenAddresses: ataVectors,
      transferV0: {
        transaction: Buffer.from(transaction).toString("base64"),
        feePayer: facilitator.pubkey,
        feePayerSeed: facilitator.seed,
        authority: client.pubkey,
        payTo: payTo.pubkey,
        mint,
        source,
        destination,
        amount,
        decimals,
        computeUnitLimit,
        computeUnitPrice,
        memo,
        recentBlockhash,
        accountKeys: keys,
        clientSignature: base58.encode(clientSignature),
        messageSha256: hex(sha256(message)),
      },
    },
    null,
    2,
  ) + "\n",
);
