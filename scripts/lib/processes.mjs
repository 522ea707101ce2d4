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

/**
 * `n` distinct free ports on 127.0.0.1 below the kernel's ephemeral range (Linux: from 32768), for a
 * caller that picks its ports up front and binds them seconds later (`npm start` with every port
 * given): a port from the ephemeral range can be taken meanwhile by any outgoing connection of the
 * machine, one below it only by another listener.
 */
export async function reservedPorts(n, { from = 20_000, below = 32_768 } = {}) {
  const ports = new Set();
  for (let tries = 0; ports.size < n; tries++) {
    if (tries > 1_000) throw new Error(`no ${n} free ports between ${from} and ${below}`);
    const port = from + Math.floor(Math.random() * (below - from));
    if (!ports.has(port) && (await portIsFree(port))) ports.add(port);
  }
  return [...ports];
}
