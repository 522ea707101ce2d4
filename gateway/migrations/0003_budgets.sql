-- Session budgets (js-bindings/sdk/src/tracking/schema.ts, budgets.ts).

CREATE TABLE IF NOT EXISTS x402_budgets (
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
);
