-- The tracking table (js-bindings/sdk/src/tracking/schema.ts; tests/tracking/store.test.mjs checks the files agree with it).
-- npx wrangler d1 migrations apply x402-edge-tracking -c gateway/wrangler.toml [--local]

CREATE TABLE IF NOT EXISTS x402_payments (
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
);

CREATE INDEX IF NOT EXISTS x402_payments_at ON x402_payments (at_ms, id);

CREATE INDEX IF NOT EXISTS x402_payments_payer ON x402_payments (payer, at_ms);
