import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import postgres from 'postgres';
import { z } from 'zod';
import { ensureOrganization } from '../src/accounts/organizations.js';
import { createAgent } from '../src/agents/agent-write.js';
import { loadConfig } from '../src/config.js';
import { SecretBox } from '../src/crypto/secret-box.js';
import { openRuntime } from '../src/runtime.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { createContextFromHeaders } from '../src/trpc/context.js';
import { agentProcedure, createCallerFactory, publicProcedure, router } from '../src/trpc/trpc.js';
import { bearer, ORIGIN, percentile } from './harness.js';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
const databaseName = `scopekit_micro_${randomBytes(4).toString('hex')}`;
await admin.unsafe(`create database "${databaseName}"`);
const databaseUrl = new URL(ADMIN_URL);
databaseUrl.pathname = `/${databaseName}`;
const env: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: 'production',
  DATABASE_URL: databaseUrl.toString(),
  SCOPEKIT_ENCRYPTION_KEY: SecretBox.generateKey(),
  SCOPEKIT_RATE_LIMIT_TOKEN_PER_MINUTE: '1000000000',
  SCOPEKIT_RATE_LIMIT_API_KEY_PER_MINUTE: '1000000000',
  SCOPEKIT_BEARER_FAILURES_PER_MINUTE: '1000000000',
};
const benchRouter = router({
  open: publicProcedure
    .input(z.object({ agentId: z.string().min(1).max(200) }))
    .query(() => ({ ok: true })),
  authed: agentProcedure('read_agent').query(() => ({ ok: true })),
});
const runtime = await openRuntime(loadConfig(env), { serve: false });
const N = Number(process.env.N ?? 20000);
const ROUNDS = Number(process.env.ROUNDS ?? 6);
const MODE = process.env.MODE ?? 'fetch';
try {
  const { deps } = runtime;
  const org = await ensureOrganization(deps, 'bench');
  const agent = await createAgent(deps, { organizationId: org.id, name: 'bench agent' });
  const minted = await mintClientToken(deps, {
    organizationId: org.id,
    hostname: ORIGIN,
    policy: [{ type: 'agent', id: agent.id, access: ['read_agent', 'read_messages'] }],
    expiresAt: new Date(Date.now() + 60 * 60_000),
  });
  const input = encodeURIComponent(JSON.stringify({ agentId: agent.id }));
  const common = { 'user-agent': 'autocannon/8', host: '127.0.0.1:40000', connection: 'keep-alive' };
  const headers = {
    open: { ...common, origin: ORIGIN },
    authed: { ...common, ...bearer(minted.token, ORIGIN) },
  };
  const createCaller = createCallerFactory(benchRouter);
  // As tRPC's node-http adapter does: a Headers copy of the raw ones, then a Request.
  const toRequest = (url: string, raw: Record<string, string>) => {
    const h = new Headers();
    for (const key in raw) h.append(key, raw[key]!);
    return new Request(new URL(url, 'http://127.0.0.1:40000'), { headers: h, method: 'GET', signal: new AbortController().signal });
  };
  const call = {
    caller: async (kind: 'open' | 'authed') => {
      const caller = createCaller(createContextFromHeaders(deps, headers[kind]));
      await caller[kind]({ agentId: agent.id });
    },
    fetch: async (kind: 'open' | 'authed') => {
      const res = await fetchRequestHandler({
        endpoint: '/bench',
        req: toRequest(`/bench/${kind}?input=${input}`, headers[kind]),
        router: benchRouter,
        createContext: () => createContextFromHeaders(deps, headers[kind]),
      });
      await res.text();
      if (res.status !== 200) throw new Error(`${kind} ${res.status}`);
    },
  }[MODE]!;
  const round = async (kind: 'open' | 'authed') => {
    const before = process.cpuUsage();
    for (let i = 0; i < N; i += 10) {
      await Promise.all([call(kind), call(kind), call(kind), call(kind), call(kind), call(kind), call(kind), call(kind), call(kind), call(kind)]);
    }
    const after = process.cpuUsage(before);
    return (after.user + after.system) / N;
  };
  for (let w = 0; w < 3; w++) {
    await round('open');
    await round('authed');
  }
  const prof = process.env.PROF;
  const session = new Session();
  if (prof) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 50 });
  }
  const results: Record<string, number[]> = { open: [], authed: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const kind of r % 2 === 0 ? (['open', 'authed'] as const) : (['authed', 'open'] as const)) {
      const heap = process.env.HEAP === kind;
      if (heap) {
        session.connect();
        await session.post('HeapProfiler.enable');
        await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      }
      if (prof === kind) await session.post('Profiler.start');
      results[kind]?.push(await round(kind));
      if (heap) {
        const { profile } = await session.post('HeapProfiler.stopSampling');
        writeFileSync(`/tmp/rt-prof/heap-${process.env.PROF_TAG ?? ''}${kind}-${r}.json`, JSON.stringify(profile));
        session.disconnect();
      }
      if (prof === kind) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(`/tmp/rt-prof/micro-${process.env.PROF_TAG ?? ''}${kind}-${r}.cpuprofile`, JSON.stringify(profile));
      }
    }
  }
  const o = percentile(results.open ?? [], 50);
  const a = percentile(results.authed ?? [], 50);
  console.log(
    `${process.version} ${MODE}, ${ROUNDS} rounds of ${N}: open ${o.toFixed(2)} µs, authed ${a.toFixed(2)} µs, diff ${(a - o).toFixed(2)}, ratio ${(o / a).toFixed(3)}; open ${results.open?.map((x) => x.toFixed(1)).join(' ')}; authed ${results.authed?.map((x) => x.toFixed(1)).join(' ')}`,
  );
} finally {
  await runtime.close();
  await admin.unsafe(`drop database if exists "${databaseName}" with (force)`);
  await admin.end();
}
