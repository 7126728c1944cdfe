import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import postgres from 'postgres';
import { ensureOrganization } from '../src/accounts/organizations.js';
import { createAgent } from '../src/agents/agent-write.js';
import { loadConfig } from '../src/config.js';
import { SecretBox } from '../src/crypto/secret-box.js';
import { openRuntime } from '../src/runtime.js';
import { createApiKey } from '../src/tokens/api-keys.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { withInstances } from './fan-out-driver.js';
import {
  buildInstance,
  children,
  DURATION_S,
  log,
  ORIGIN,
  rows,
  startInstance,
  stopInstance,
} from './harness.js';
import { measureCachedVerification } from './steps/cached-verification.js';
import { measureConversationsFanOut } from './steps/conversations-fan-out.js';
import { measureFanOut } from './steps/fan-out.js';
import { measureListing } from './steps/listing.js';
import { measureManyStreams } from './steps/many-streams.js';
import { measureMints } from './steps/mints.js';
import { measureRefusalPoint } from './steps/refusal-point.js';
import { measureRevocation } from './steps/revocation.js';
import { measureStreamMemory } from './steps/stream-memory.js';
import { measureStreamedReply } from './steps/streamed-reply.js';
import { measureThroughput } from './steps/throughput.js';
import { measureTurns } from './steps/turns.js';

/**
 * `pnpm bench`: every figure of the scale-out issue, measured in one run on this machine.
 * Starts what it needs (a throwaway database on the PostgreSQL of DATABASE_URL, server
 * instances in child processes on loopback), runs the steps of `steps/` (each drives them
 * with autocannon or timed loops, bounded in count and time) and prints one markdown table.
 */
const ADMIN_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const WATCHDOG_MS = 9.5 * 60_000;
/** `BENCH_STEPS=throughput,fan-out`: only those steps (names as in the log); all by default. */
const ONLY_STEPS = process.env.BENCH_STEPS?.split(',')
  .map((name) => name.trim())
  .filter(Boolean);

const watchdog = setTimeout(() => {
  log(`gave up after ${WATCHDOG_MS / 60_000} minutes`);
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

// A throwaway database, dropped at the end whatever happens.
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
const databaseName = `scopekit_bench_${randomBytes(4).toString('hex')}`;
await admin.unsafe(`create database "${databaseName}"`);
const databaseUrl = new URL(ADMIN_URL);
databaseUrl.pathname = `/${databaseName}`;
const env: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: 'production',
  DATABASE_URL: databaseUrl.toString(),
  SCOPEKIT_ENCRYPTION_KEY: SecretBox.generateKey(),
  // Limits would cap the load generator, not measure the server; their check still runs.
  SCOPEKIT_RATE_LIMIT_TOKEN_PER_MINUTE: '1000000000',
  SCOPEKIT_RATE_LIMIT_API_KEY_PER_MINUTE: '1000000000',
  SCOPEKIT_BEARER_FAILURES_PER_MINUTE: '1000000000',
  // The same for the stream caps: every subscriber shares one token and one address here.
  SCOPEKIT_STREAMS_PER_TOKEN: '1000000',
  SCOPEKIT_STREAMS_PER_ADDRESS: '1000000',
  SCOPEKIT_STREAMS_PER_INSTANCE: '1000000',
  SCOPEKIT_LOG_LEVEL: 'warn',
};

const startLoad = loadavg()[0] ?? 0;
const [{ version: postgresVersion }] =
  (await admin`select split_part(version(), ' on ', 1) as version`) as unknown as [
    { version: string },
  ];
const runtime = await openRuntime(loadConfig(env), { serve: false });
try {
  await main();
} catch (error) {
  failed('setup', error);
} finally {
  await Promise.all([...children].map(stopInstance));
  await runtime.close();
  await admin.unsafe(`drop database if exists "${databaseName}" with (force)`);
  await admin.end();
}
printTable();
process.exitCode = rows.some((r) => r.verdict === 'failed') ? 1 : 0;

/** A step that threw is a row of the table, marked, and the steps after it still run. */
function failed(step: string, error: unknown) {
  const message = error instanceof Error ? error.message : String(error);
  log(`${step} failed: ${message}`);
  rows.push({ figure: step, target: '', measured: `failed: ${message}`, verdict: 'failed' });
}

async function step(name: string, run: () => Promise<void>) {
  if (ONLY_STEPS?.length && !ONLY_STEPS.includes(name)) return;
  const started = performance.now();
  try {
    await run();
  } catch (error) {
    failed(name, error);
  }
  // The whole bench must fit its watchdog: what each step took shows where the time goes.
  log(`${name} took ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

async function main() {
  const { deps } = runtime;
  await buildInstance();
  const org = await ensureOrganization(deps, 'bench');
  const key = await createApiKey(deps, { organizationId: org.id, name: 'bench backend' });
  const agent = await createAgent(deps, { organizationId: org.id, name: 'bench agent' });
  const listed = await createAgent(deps, { organizationId: org.id, name: 'listed agent' });
  const minted = await mintClientToken(deps, {
    organizationId: org.id,
    hostname: ORIGIN,
    policy: [{ type: 'agent', id: agent.id, access: ['read_agent', 'read_messages'] }],
    expiresAt: new Date(Date.now() + 60 * 60_000),
  });

  log('starting two server instances');
  const [a, b] = await Promise.all([startInstance(env), startInstance(env)]);

  await step('throughput', () => measureThroughput(a, agent.id, minted.token));
  await step('cached verification', () => measureCachedVerification(deps, minted.token));
  await step('token mints', () => measureMints(env.DATABASE_URL ?? '', a.url, key.key, agent.id));
  await step('token listing', () => measureListing(env, a.url, key.key, org.id, listed.id));
  await step('revocation', () => measureRevocation(deps, a.url, b.url, key.key, org.id, agent.id));
  await step('turns', () => measureTurns(deps, org.id, a));
  const reader = await mintClientToken(deps, {
    organizationId: org.id,
    hostname: ORIGIN,
    policy: [{ type: 'agent', id: agent.id, access: ['read_messages', 'write_messages'] }],
    expiresAt: new Date(Date.now() + 60 * 60_000),
  });
  await step('fan-out', () =>
    measureFanOut({
      urls: [a.url, b.url],
      ...{ agentId: agent.id, token: reader.token, subscribers: 100, sends: 20 },
      target: { p99Ms: 50 },
    }),
  );
  await step('fan-out 1000', () =>
    withInstances(env, 2, (urls) =>
      measureFanOut({
        urls,
        ...{ agentId: agent.id, token: reader.token, subscribers: 1_000, sends: 10 },
        target: { ratio: 3 },
      }),
    ),
  );
  await step('conversations fan-out', () => measureConversationsFanOut(env, deps, org.id));
  await step('streamed reply', () => measureStreamedReply(env, deps, org.id));
  await step('stream memory', () =>
    measureStreamMemory(() => startInstance(env), agent.id, reader.token),
  );
  await step('many streams', () => measureManyStreams(env, agent.id, reader.token));
  await step('refusal point', () => measureRefusalPoint(env, agent.id, reader.token));
}

function printTable() {
  const [load1] = loadavg();
  const header = `scopekit bench — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${postgresVersion}, load average ${startLoad.toFixed(2)} at start and ${load1?.toFixed(2)} at end, ${DURATION_S} s a load run`;
  // `BENCH_JSON=<file>`: the rows as data too, for `bench/runtimes.ts` to set runs side by side.
  if (process.env.BENCH_JSON)
    writeFileSync(process.env.BENCH_JSON, JSON.stringify({ node: process.version, header, rows }));
  const lines = [
    header,
    '',
    '| figure | target | measured | |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.figure} | ${r.target} | ${r.measured} | ${r.verdict} |`),
  ];
  console.log(lines.join('\n'));
}
