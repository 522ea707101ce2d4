#!/usr/bin/env node
// Re-extract Uniswap Permit2's runtime bytecode from the published npm package and check it against the
// committed copy in contracts/vendor/Permit2.runtime.hex (see contracts/vendor/README.md).
//
// Usage: node scripts/vendor-permit2.mjs [--tarball <file.tgz>] [--write]
//   --tarball  use an already downloaded `npm pack @uniswap/v4-periphery@1.0.3` tarball (else `npm pack` into a
//              temp dir: a 33 MB download)
//   --write    overwrite the committed copy instead of failing when it differs
//
// Not run by CI: the local chains read the committed hex, so tests never need the 33 MB package.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { PERMIT2_RUNTIME_FILE } from './lib/chain.mjs';

const PACKAGE = '@uniswap/v4-periphery@1.0.3';
const FILE_IN_PACKAGE = 'package/lib/permit2/test/utils/DeployPermit2.sol';
const EXPECTED_BYTES = 9152;
/** sha256 of the runtime bytes (not of the hex text), as recorded in contracts/vendor/README.md. */
const EXPECTED_SHA256 = '60f506dfaba70e6353b90771b0d9e8f91ee6b1e3c4bd42a66e8085426ade2886';

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

function argValue(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The package tarball: the one given, else a fresh `npm pack` into a temp dir (removed on exit). */
function tarball() {
  const given = argValue('--tarball');
  if (given) return path.resolve(given);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'permit2-vendor-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const name = execFileSync('npm', ['pack', PACKAGE, '--pack-destination', dir, '--silent'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop();
  return path.join(dir, name);
}

/** The single `hex"…"` literal of DeployPermit2.sol (what its `vm.etch` writes at the Permit2 address). */
function runtimeHexFrom(source) {
  const literals = [...source.matchAll(/hex"([0-9a-fA-F]*)"/g)].map((m) => m[1].toLowerCase());
  if (literals.length !== 1) throw new Error(`expected one hex"…" literal in ${FILE_IN_PACKAGE}, found ${literals.length}`);
  return literals[0];
}

const tgz = tarball();
const source = execFileSync('tar', ['-xzOf', tgz, FILE_IN_PACKAGE], { encoding: 'utf8', maxBuffer: 1 << 24 });
const hex = runtimeHexFrom(source);
const bytes = Buffer.from(hex, 'hex');
const digest = sha256(bytes);
console.log(`${PACKAGE} ${FILE_IN_PACKAGE}`);
console.log(`  tarball sha256  ${sha256(fs.readFileSync(tgz))}`);
console.log(`  file sha256     ${sha256(source)}`);
console.log(`  runtime         ${bytes.length} bytes, sha256 ${digest}`);
if (bytes.length !== EXPECTED_BYTES || digest !== EXPECTED_SHA256) {
  console.error(`unexpected runtime: want ${EXPECTED_BYTES} bytes with sha256 ${EXPECTED_SHA256}`);
  process.exit(1);
}

const text = `0x${hex}\n`;
const committed = fs.existsSync(PERMIT2_RUNTIME_FILE) ? fs.readFileSync(PERMIT2_RUNTIME_FILE, 'utf8') : null;
if (committed === text) {
  console.log(`${path.relative(process.cwd(), PERMIT2_RUNTIME_FILE)} matches the package`);
} else if (process.argv.includes('--write')) {
  fs.mkdirSync(path.dirname(PERMIT2_RUNTIME_FILE), { recursive: true });
  fs.writeFileSync(PERMIT2_RUNTIME_FILE, text);
  console.log(`wrote ${path.relative(process.cwd(), PERMIT2_RUNTIME_FILE)}`);
} else {
  console.error(`${PERMIT2_RUNTIME_FILE} differs from the package (run with --write to replace it)`);
  process.exit(1);
}
