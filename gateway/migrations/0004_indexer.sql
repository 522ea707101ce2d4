-- The payment indexer (js-bindings/sdk/src/tracking/schema.ts, indexer.ts).

CREATE TABLE IF NOT EXISTS x402_index_cursors (
  network TEXT NOT NULL,
  asset TEXT NOT NULL,
  pay_to TEXT NOT NULL,
  last_block BIGINT NOT NULL,
  synced_ms BIGINT,
  PRIMARY KEY (network, asset, pay_to)
);

CREATE TABLE IF NOT EXISTS x402_transfers (
  network TEXT NOT NULL,
  tx TEXT NOT NULL,
  log_index INTEGER NOT NULL,
  asset TEXT NOT NULL,
  from_address TEXT NOT NULL,
  to_address TEXT NOT NULL,
  amount TEXT NOT NULL,
  block BIGINT NOT NULL,
  PRIMARY KEY (network, tx, log_index)
);

CREATE TABLE IF NOT EXISTS x402_findings (
  kind TEXT NOT NULL,
  network TEXT NOT NULL,
  tx TEXT NOT NULL,
  record_id TEXT NOT NULL,
  expected TEXT,
  actual TEXT,
  found_ms BIGINT NOT NULL,
  PRIMARY KEY (kind, network, tx, record_id)
);
