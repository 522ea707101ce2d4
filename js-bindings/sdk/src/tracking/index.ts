// `@x402-edge/sdk/tracking`: one record per paid request (what was bought, verify and settle outcomes,
// the transaction, durations), written beside the response to D1 or PostgreSQL, listed and summed by an
// admin API. No `node:` imports: Workers and Node.
export { ADMIN_PATHS, BUDGETS_PATH, DASHBOARD_PATH, FINDINGS_PATH, handleTrackingAdmin, INDEXER_RUN_PATH, METRICS_PATH, PAYMENTS_PATH, SERIES_PATH, STATS_PATH } from './admin.js';
export { dashboardPage } from './dashboard.js';
export type { TrackingAdminOptions } from './admin.js';
export { amountChunks, PaymentTrace, sumOfChunks } from './record.js';
export type { ClientFields, PaymentRecord, SettleOutcome, TracedRequirements, VerifyOutcome } from './record.js';
export { BudgetStore, budgetAmount, keyAgent, payerAgent } from './budgets.js';
export type { AgentId, Budget, Reservation, Reserve } from './budgets.js';
export { ENTITLEMENT_ID, EntitlementStore } from './entitlements.js';
export type { Entitlement, EntitlementRefusal, EntitlementTerms, Use } from './entitlements.js';
export { PaymentIndexer } from './indexer.js';
export type { Finding, FindingKind, IndexerOptions, IndexPass, IndexTarget } from './indexer.js';
export { TRACKING_MIGRATIONS, TRACKING_SCHEMA } from './schema.js';
export { d1Client, postgresClient } from './sql.js';
export type { D1Like, PgLike, Row, SqlClient, SqlValue } from './sql.js';
export { InvalidQuery, MAX_BUCKETS, MAX_PAGE, normalizeAddress, SqlTrackingStore } from './store.js';
export type { PaymentPage, PaymentQuery, PaymentSeries, PaymentStats, Percentiles, Revenue, SeriesBucket } from './store.js';
export { onceSchema, PaymentTracker } from './tracker.js';
export type { TrackerOptions, WaitUntil } from './tracker.js';
