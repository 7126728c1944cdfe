import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { percentile } from '../harness.js';

/**
 * Raw baselines measured in the same run as the rows they stand beside, doing the same work
 * without the stack, so a reader can tell the code from the machine: this machine's speed
 * changes from day to day by more than any change of the code.
 */

/**
 * Bare INSERTs of a row the size of a token's, one durable commit each, from `connections`
 * concurrent loops for `seconds`: what PostgreSQL alone allows a mint.
 */
export async function bareInserts(databaseUrl: string, connections: number, seconds: number) {
  const sql = postgres(databaseUrl, { max: connections, onnotice: () => {} });
  try {
    await sql`create table if not exists bench_bare_inserts (
      id text primary key, token_hash text not null unique, token_ciphertext text not null,
      hint text not null, hostname text not null, policy jsonb not null,
      created_at timestamptz not null default now())`;
    const policy = [{ type: 'agent', id: 'agent-x', access: ['read_messages'] }];
    let count = 0;
    const latencies: number[] = [];
    const deadline = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < deadline) {
          const start = performance.now();
          await sql`insert into bench_bare_inserts ${sql({
            id: `tok-${randomBytes(12).toString('hex')}`,
            token_hash: randomBytes(32).toString('hex'),
            token_ciphertext: randomBytes(90).toString('base64'),
            hint: 'ck-let-…abcd',
            hostname: 'https://chat.example.com',
            policy: sql.json(policy),
          })}`;
          latencies.push(performance.now() - start);
          count++;
        }
      }),
    );
    return { perSecond: count / seconds, p99: percentile(latencies, 99) };
  } finally {
    await sql.end();
  }
}

/**
 * The listing's query by a bare postgres client (prepared, as the server's is), from
 * `clients` concurrent loops over the same pages for `seconds`: what PostgreSQL alone takes
 * to answer a page, without HTTP, authentication, decryption or JSON.
 */
export async function bareListing(
  databaseUrl: string,
  args: { organizationId: string; agentId: string; clients: number; seconds: number },
) {
  const sql = postgres(databaseUrl, { max: args.clients, onnotice: () => {} });
  try {
    const latencies: number[] = [];
    const deadline = performance.now() + args.seconds * 1000;
    await Promise.all(
      Array.from({ length: args.clients }, async () => {
        for (let i = 0; i < 5_000 && performance.now() < deadline; i++) {
          const start = performance.now();
          const rows = await sql`select t.* from client_token_agents a
            join client_tokens t on t.id = a.token_id
            where a.agent_id = ${args.agentId} and t.organization_id = ${args.organizationId}
              and t.revoked_at is null and t.expires_at > ${new Date().toISOString()}::timestamptz
            order by a.created_at desc, a.token_id desc
            limit 11 offset ${10 * (i % 10)}`;
          latencies.push(performance.now() - start);
          if (rows.length !== 11) throw new Error(`The bare listing read ${rows.length} rows`);
        }
      }),
    );
    return {
      p99: percentile(latencies, 99),
      p50: percentile(latencies, 50),
      count: latencies.length,
    };
  } finally {
    await sql.end();
  }
}
