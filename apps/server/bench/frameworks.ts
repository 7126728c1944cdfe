import { fork } from 'node:child_process';
import autocannon from 'autocannon';

/**
 * Why Fastify: hello-world JSON throughput of raw node:http, Fastify and Hono (on
 * @hono/node-server), each server in its own process and the load generator in this one,
 * over loopback. Bounded: a few seconds per framework.
 */
const DURATION_S = Number(process.env.BENCH_DURATION ?? 5);

async function measure(kind: string) {
  const child = fork(new URL('./framework-servers.ts', import.meta.url), [kind], {
    execArgv: ['--import', 'tsx'],
  });
  const port = await new Promise<number>((resolve) =>
    child.once('message', (m) => resolve(Number(m))),
  );
  try {
    const url = `http://127.0.0.1:${port}/`;
    await autocannon({ url, connections: 50, duration: 1 });
    const result = await autocannon({ url, connections: 50, duration: DURATION_S });
    return {
      framework: kind,
      'req/s': Math.round(result.requests.average),
      'p99 ms': result.latency.p99,
    };
  } finally {
    child.kill();
  }
}

const rows = [];
for (const kind of ['node', 'fastify', 'hono']) rows.push(await measure(kind));
console.table(rows);
