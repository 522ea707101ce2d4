// Child processes of the dev and test tooling (wrangler dev, starknet-devnet): each runs in its own
// process group, which is killed when it is stopped and when this process exits or is signalled;
// on Linux the kernel also signals it if this process is SIGKILLed (`setpriv --pdeathsig`).

import { spawnSync } from 'node:child_process';
import * as net from 'node:net';

/** Process groups still running. */
const liveGroups = new Set();
let hooksInstalled = false;

/** Signals `child`'s process group (or the child alone when it has none). */
export function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* gone */
    }
  }
}

function installExitHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const child of liveGroups) killGroup(child, 'SIGTERM');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    const handler = () => {
      for (const child of liveGroups) killGroup(child, 'SIGTERM');
      process.off(sig, handler);
      // Keep the default behaviour (terminate) unless someone else handles the signal.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

/** Kills `child`'s group when this process exits, until `untrackGroup(child)`. */
export function trackGroup(child) {
  installExitHooks();
  liveGroups.add(child);
}

export function untrackGroup(child) {
  liveGroups.delete(child);
}

let pdeathsig;
/** `setpriv --pdeathsig TERM` (Linux): the kernel signals the child even if this process is SIGKILLed. */
export function deathSignalPrefix() {
  if (pdeathsig !== undefined) return pdeathsig;
  pdeathsig = [];
  if (process.platform === 'linux') {
    const r = spawnSync('setpriv', ['--pdeathsig', 'TERM', 'true'], { stdio: 'ignore' });
    if (r.status === 0) pdeathsig = ['setpriv', '--pdeathsig', 'TERM'];
  }
  return pdeathsig;
}

export function portIsFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
