import autocannon from 'autocannon';
import { withChild } from './harness.js';

/**
 * Why Fastify: throughput over loopback of hello-world JSON on raw node:http, Fastify and
 * Hono (on @hono/node-server), and of the one that decides, a trivial tRPC query through
 * tRPC's standalone node:http adapter, its Fastify adapter and @hono/trpc-server. Each
 * server runs in its own process and the load generator in this one. Bounded: one second
 * of warm-up and BENCH_DURATION seconds (default 10) per server.
 */
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);

const servers = [
  { kind: 'node', label: 'node:http, JSON', path: '/' },
  { kind: 'fastify', label: 'Fastify 5, JSON', path: '/' },
  { kind: 'hono', label: 'Hono 4 on node-server, JSON', path: '/' },
  { kind: 'trpc-node', label: 'tRPC 11 standalone (node:http)', path: '/trpc/hello' },
  { kind: 'trpc-fastify', label: 'tRPC 11 on Fastify 5', path: '/trpc/hello' },
  { kind: 'trpc-hono', label: 'tRPC 11 on Hono 4 (@hono/trpc-server)', path: '/trpc/hello' },
];

function measure({ kind, label, path }: (typeof servers)[number]) {
  return withChild('./framework-servers.ts', [kind], async (port) => {
    const url = `http://127.0.0.1:${port}${path}`;
    await autocannon({ url, connections: 50, duration: 1 });
    const result = await autocannon({ url, connections: 50, duration: DURATION_S });
    // A server that answers errors fast would look good: count anything but 2xx.
    const failed = result.non2xx + result.errors + result.timeouts;
    if (failed > 0) throw new Error(`${label}: ${failed} requests failed`);
    return {
      server: label,
      'req/s': Math.round(result.requests.average),
      'p99 ms': result.latency.p99,
    };
  });
}

const rows = [];
for (const server of servers) rows.push(await measure(server));
console.table(rows);
