import type postgres from 'postgres';

type Callback = (sql: postgres.Sql) => unknown;

/**
 * The postgres.js client as drizzle should use it: every query with parameters prepared.
 *
 * drizzle's postgres.js driver sends each query through `sql.unsafe(text, params, { prepare })`
 * with `prepare` false unless the query was given a name (drizzle-orm#6096), so PostgreSQL
 * parses, analyses and plans the same statement text on every call. Prepared, as
 * postgres.js's own tagged queries are, each connection parses a text once and reuses it
 * (postgres.js re-prepares by itself when a migration invalidates a cached plan): mints,
 * one statement each, went from about 930 to 1,840 a second on a 2-core machine. Values are
 * always parameters here (nothing uses `sql.raw`), so the texts a connection keeps vary only
 * by a query's shape (a list's length), not by its values. Queries without parameters keep
 * the simple protocol, which cannot be prepared.
 *
 * Transactions and savepoints hand their callback a client of their own: it is wrapped too.
 */
export function preparingClient(sql: postgres.Sql): postgres.Sql {
  return new Proxy(sql, {
    get(target, property, receiver) {
      if (property === 'unsafe') {
        return (text: string, params?: unknown[], options?: object) =>
          target.unsafe(text, params as postgres.ParameterOrJSON<never>[], {
            ...options,
            prepare: true,
          });
      }
      if (property === 'begin' || property === 'savepoint') {
        const open = Reflect.get(target, property, receiver) as (...args: unknown[]) => unknown;
        return (...args: unknown[]) =>
          open.apply(
            target,
            args.map((arg) =>
              typeof arg === 'function'
                ? (inner: postgres.Sql) => (arg as Callback)(preparingClient(inner))
                : arg,
            ),
          );
      }
      return Reflect.get(target, property, receiver);
    },
  });
}
