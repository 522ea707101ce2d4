// The tracking table, one row per paid request. The same statements run on D1 (SQLite) and on
// PostgreSQL: only types both read alike (TEXT, BIGINT, INTEGER), no dialect's own functions.
// gateway/migrations/*.sql hold the same text for `wrangler d1 migrations apply`.

/** The schema, one statement each, idempotent (`IF NOT EXISTS`). */
export const TRACKING_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS x402_payments (
  id TEXT PRIMARY KEY,
  at_ms BIGINT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  resource TEXT NOT NULL,
  client_ip TEXT,
  user_agent TEXT,
  scheme TEXT,
  network TEXT,
  asset TEXT,
  pay_to TEXT,
  amount TEXT,
  amount_0 BIGINT,
  amount_1 BIGINT,
  amount_2 BIGINT,
  amount_3 BIGINT,
  requirements TEXT,
  payer TEXT,
  verify_outcome TEXT NOT NULL,
  verify_reason TEXT,
  handler_ran INTEGER NOT NULL,
  origin_status INTEGER,
  settle_outcome TEXT NOT NULL,
  settle_reason TEXT,
  tx TEXT,
  verify_ms INTEGER,
  handler_ms INTEGER,
  settle_ms INTEGER,
  total_ms INTEGER NOT NULL
)`,
  `CREATE INDEX IF NOT EXISTS x402_payments_at ON x402_payments (at_ms, id)`,
  `CREATE INDEX IF NOT EXISTS x402_payments_payer ON x402_payments (payer, at_ms)`,
  // Entitlements (entitlements.ts): what a settled payment lets its client use again without paying.
  `CREATE TABLE IF NOT EXISTS x402_entitlements (
  id TEXT PRIMARY KEY,
  resource TEXT NOT NULL,
  payer TEXT,
  network TEXT,
  tx TEXT,
  created_ms BIGINT NOT NULL,
  expires_ms BIGINT,
  uses_left INTEGER
)`,
  // Session budgets (budgets.ts): amounts as hi·10^15 + lo.
  `CREATE TABLE IF NOT EXISTS x402_budgets (
  agent TEXT NOT NULL,
  network TEXT NOT NULL,
  asset TEXT NOT NULL,
  limit_hi BIGINT NOT NULL,
  limit_lo BIGINT NOT NULL,
  window_ms BIGINT NOT NULL,
  window_start_ms BIGINT NOT NULL,
  spent_hi BIGINT NOT NULL,
  spent_lo BIGINT NOT NULL,
  PRIMARY KEY (agent, network, asset)
)`,
  // The payment indexer (indexer.ts): a cursor per target, the transfers read, the findings.
  `CREATE TABLE IF NOT EXISTS x402_index_cursors (
  network TEXT NOT NULL,
  asset TEXT NOT NULL,
  pay_to TEXT NOT NULL,
  last_block BIGINT NOT NULL,
  synced_ms BIGINT,
  PRIMARY KEY (network, asset, pay_to)
)`,
  `CREATE TABLE IF NOT EXISTS x402_transfers (
  network TEXT NOT NULL,
  tx TEXT NOT NULL,
  log_index INTEGER NOT NULL,
  asset TEXT NOT NULL,
  from_address TEXT NOT NULL,
  to_address TEXT NOT NULL,
  amount TEXT NOT NULL,
  block BIGINT NOT NULL,
  PRIMARY KEY (network, tx, log_index)
)`,
  `CREATE TABLE IF NOT EXISTS x402_findings (
  kind TEXT NOT NULL,
  network TEXT NOT NULL,
  tx TEXT NOT NULL,
  record_id TEXT NOT NULL,
  expected TEXT,
  actual TEXT,
  found_ms BIGINT NOT NULL,
  PRIMARY KEY (kind, network, tx, record_id)
)`,
];

/** The statements of each migration file (gateway/migrations), in order; together they are TRACKING_SCHEMA. */
export const TRACKING_MIGRATIONS: readonly (readonly string[])[] = [TRACKING_SCHEMA.slice(0, 3), TRACKING_SCHEMA.slice(3, 4), TRACKING_SCHEMA.slice(4, 5), TRACKING_SCHEMA.slice(5, 8)];
