// The part of `pg` (node-postgres) the gateway uses, for its Hyperdrive tracking store; `pg` ships no types.
declare module 'pg' {
  class Client {
    constructor(config: { connectionString: string });
    connect(): Promise<void>;
    query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
    end(): Promise<void>;
  }
  const pg: { Client: typeof Client };
  export default pg;
}
