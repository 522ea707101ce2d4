// The two SQL stores behind one small interface: the store writes `?` placeholders and each adapter
// speaks its driver. Types are structural, so the package depends on neither driver.

export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;

/** What the tracking store needs of a database: run a statement, read rows. */
export interface SqlClient {
  run(sql: string, params: readonly SqlValue[]): Promise<void>;
  all(sql: string, params: readonly SqlValue[]): Promise<Row[]>;
}

/** The part of Cloudflare D1's `D1Database` the store uses. */
export interface D1Like {
  prepare(sql: string): {
    bind(...values: unknown[]): {
      run(): Promise<unknown>;
      all<T = Row>(): Promise<{ results: T[] }>;
    };
  };
}

/** A D1 database (`env.TRACKING_DB`): SQLite in Cloudflare, and locally under `wrangler dev`. */
export function d1Client(db: D1Like): SqlClient {
  return {
    async run(sql, params) {
      await db.prepare(sql).bind(...params).run();
    },
    async all(sql, params) {
      return (await db.prepare(sql).bind(...params).all<Row>()).results;
    },
  };
}

/** The part of `pg`'s `Client`/`Pool` the store uses. */
export interface PgLike {
  query(text: string, values: readonly unknown[]): Promise<{ rows: Row[] }>;
}

/**
 * A PostgreSQL connection (`pg`; in Workers through Hyperdrive's connection string). The store's `?`
 * placeholders become `$1, $2, …`; its statements have no `?` inside literals.
 */
export function postgresClient(pg: PgLike): SqlClient {
  const numbered = (sql: string) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  return {
    async run(sql, params) {
      await pg.query(numbered(sql), params);
    },
    async all(sql, params) {
      return (await pg.query(numbered(sql), params)).rows;
    },
  };
}
