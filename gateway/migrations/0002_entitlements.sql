-- Entitlements (X-Payment-Id; js-bindings/sdk/src/tracking/schema.ts, entitlements.ts).

CREATE TABLE IF NOT EXISTS x402_entitlements (
  id TEXT PRIMARY KEY,
  resource TEXT NOT NULL,
  payer TEXT,
  network TEXT,
  tx TEXT,
  created_ms BIGINT NOT NULL,
  expires_ms BIGINT,
  uses_left INTEGER
);
