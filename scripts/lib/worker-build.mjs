// What a Worker build carries: scripts/build-worker.sh stamps each build directory with the cargo
// features it was built with (WORKER_FEATURES) in `.x402-edge-features`. Plain ESM, no dependencies, so
// that the cold-start bench can read it without loading anything else first.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The features the Worker in `dir` (absolute, or relative to the repository) was built with; null without a stamp. */
export function builtFeatures(dir) {
  const stamp = path.resolve(ROOT, dir, '.x402-edge-features');
  if (!fs.existsSync(stamp)) return null;
  return fs.readFileSync(stamp, 'utf8').trim().split(',').filter(Boolean);
}

/** Whether the Worker in `dir` carries `feature` (a build without a stamp is taken to carry everything). */
export function builtWith(dir, feature) {
  return builtFeatures(dir)?.includes(feature) ?? true;
}
