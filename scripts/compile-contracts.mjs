#!/usr/bin/env node
// Compile contracts/*.sol with solc-js into build/contracts/<Name>.json ({abi, bytecode, ...}).
// Usage: node scripts/compile-contracts.mjs [--force]
import * as path from 'node:path';
import { ARTIFACTS_DIR, compileContracts, ROOT } from './lib/chain.mjs';

const force = process.argv.includes('--force');
try {
  const artifacts = await compileContracts({ force });
  for (const [name, art] of Object.entries(artifacts).sort()) {
    const size = (art.bytecode.length - 2) / 2;
    console.log(`${path.relative(ROOT, path.join(ARTIFACTS_DIR, `${name}.json`))}  (${art.sourceName}, ${size} bytes initcode)`);
  }
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
