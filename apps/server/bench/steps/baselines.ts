import { randomBytes } from 'node:crypto';
import { EventSource } from 'eventsource';
import postgres from 'postgres';
import { percentile, withChild, within } from '../harness.js';

/**
 * Raw baselines measured in the same run as the rows they stand beside, doing the same work
 * without the stack, so a reader can tell the code from the machine: this machine's speed
 * changes from day to day by more than any change of the code.
 */

/**
 * One user message as a subscriber receives it: the size of the stack's event, so the
 * bare server writes as many bytes to each socket.
 */
const messageEvent = (content: string) =>
  JSON.stringify({
    id: `message-${randomBytes(12).toString('hex')}`,
    data: {
      type: 'message',
      message: {
        id: `message-${randomBytes(12).toString('hex')}`,
        date: new Date().toISOString(),
        message_type: 'user_message',
        content,
        otid: randomBytes(16).toString('hex'),
        sender_id: null,
        run_id: `run-${randomBytes(12).toString('hex')}`,
      },
    },
  });

/**
 * A bare node:http SSE server (bare-sse.ts, its own process) fanning each of `sends`
 * events out to `subscribers` EventSource clients: delivery times from the POST to each copy.
 */
export async function bareFanOut(subscribers: number, sends: number): Promise<number[]> {
  return withChild('./bare-sse.ts', [], async (port) => {
    const url = `http://127.0.0.1:${port}`;
    const samples: number[] = [];
    const sentAt = new Map<string, number>();
    let waiting: { count: number; resolve: () => void } | undefined;
    let received = 0;
    const sources: EventSource[] = [];
    try {
      await Promise.all(
        Array.from({ length: subscribers }, () => {
          const source = new EventSource(`${url}/events`);
          sources.push(source);
          source.onmessage = (event) => {
            const { content } = JSON.parse(event.data).data.message as { content: string };
            const start = sentAt.get(content);
            if (start !== undefined) samples.push(performance.now() - start);
            received++;
            if (waiting && received >= waiting.count) waiting.resolve();
          };
          return new Promise<void>((resolve, reject) => {
            source.onopen = () => resolve();
            source.onerror = () => reject(new Error('a bare SSE stream failed'));
          });
        }),
      );
      for (let i = 0; i < sends; i++) {
        const content = `bare fan-out ${i}`;
        const all = new Promise<void>((resolve) => {
          waiting = { count: received + subscribers, resolve };
        });
        sentAt.set(content, performance.now());
        const sent = await fetch(`${url}/send`, { method: 'POST', body: messageEvent(content) });
        await sent.arrayBuffer();
        await within(all, 10_000, `bare fan-out ${i} did not reach every subscriber`);
      }
    } finally {
      for (const source of sources) source.close();
    }
    return samples;
  });
}

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
