/**
 * A bounded soak: one server process on a throwaway PostgreSQL database, driven over
 * loopback for SOAK_SECONDS (default 60) by concurrent chats, token mints and revocations.
 * It reports requests served, 5xx responses (target 0), any other status a request should
 * not get (target 0), requests accepted with a token after its revocation was acknowledged
 * and revoked tokens answered otherwise than 401 (target 0 each), requests unanswered within
 * REQUEST_TIMEOUT_MS (target 0), sends and revocations (target: at least one each, or the
 * run proved nothing), and the server's memory over the run (target: flat, see
 * MEMORY_TOLERANCE). Exits non-zero when a target is missed, and stops by itself even if the
 * server wedges: a watchdog kills it and exits 2 at SOAK_SECONDS + 30 s of load.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test pnpm soak
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { ensureOrganization } from '../src/accounts/organizations.js';
import { createAgent } from '../src/agents/agent-write.js';
import { openDatabase } from '../src/db/client.js';
import { createApiKey } from '../src/tokens/api-keys.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const CHATS = 8;
const MINTERS = 2;
const ORIGIN = 'http://localhost:5173';
/** A request the server has not answered by then counts as a failure, not a wait. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Load plus this, and the watchdog ends the soak whatever the server is doing. */
const WATCHDOG_GRACE_MS = 30_000;
/**
 * "Flat" memory: the median RSS of the last quarter of samples (after warm-up) at most this
 * fraction above the first quarter's. Garbage collection alone moves one process's RSS by
 * tens of MB within a minute (one run here: min 169, max 258 MB), and medians of quarters
 * smooth that, so a tighter bound would flag GC timing. What it catches in 60 s is a fast
 * leak: at ~300 req/s, 2 KB kept per request is ~36 MB/min, about a fifth of the heap here.
 * Slower leaks need a longer SOAK_SECONDS; the regression slope is printed for that.
 */
const MEMORY_TOLERANCE = 0.2;
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Least-squares slope of RSS over time, in MB per minute. */
function slopeMbPerMinute(samples: { atMs: number; mb: number }[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const meanT = samples.reduce((sum, s) => sum + s.atMs, 0) / n;
  const meanM = samples.reduce((sum, s) => sum + s.mb, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const s of samples) {
    covariance += (s.atMs - meanT) * (s.mb - meanM);
    variance += (s.atMs - meanT) ** 2;
  }
  return variance === 0 ? 0 : (covariance / variance) * 60_000;
}

/** Resident memory of a process, in MB, from Linux's /proc. */
function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

const stats = {
  served: 0,
  timeouts: [] as string[],
  byStatus: new Map<number, number>(),
  fiveHundreds: [] as string[],
  acceptedAfterRevocation: 0,
  /** Answers other than the ones the request can rightly get, described. */
  unexpected: [] as string[],
  /** Probes of a revoked token answered with anything but 401. */
  revokedNotRefused: [] as string[],
  revocations: 0,
  mints: 0,
  sends: 0,
};
/** When each revoked token's revocation was acknowledged (its DELETE answered 204). */
const revokedAt = new Map<string, number>();

async function call(
  base: string,
  method: string,
  path: string,
  credential: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const started = performance.now();
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${credential}`,
        origin: ORIGIN,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    text = await response.text();
  } catch (error) {
    if (!(error instanceof DOMException && error.name === 'TimeoutError')) throw error;
    stats.timeouts.push(`${method} ${path.slice(0, 40)} unanswered after ${REQUEST_TIMEOUT_MS} ms`);
    return { status: 0, json: null };
  }
  stats.served++;
  stats.byStatus.set(response.status, (stats.byStatus.get(response.status) ?? 0) + 1);
  if (response.status >= 500)
    stats.fiveHundreds.push(
      `${method} ${path.slice(0, 40)} → ${response.status} ${text.slice(0, 120)}`,
    );
  const acked = revokedAt.get(credential);
  if (acked !== undefined && started > acked && response.status < 400)
    stats.acceptedAfterRevocation++;
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

/**
 * Counts an answer outside `allowed` as a failure (a 5xx is already one; a timeout, status
 * 0, is counted as unanswered). Says whether the answer was one of `allowed`.
 */
function expectStatus(
  what: string,
  answer: { status: number; json: unknown },
  allowed: number[],
): boolean {
  if (allowed.includes(answer.status)) return true;
  if (answer.status !== 0 && answer.status < 500)
    stats.unexpected.push(
      `${what} → ${answer.status} ${JSON.stringify(answer.json).slice(0, 120)}`,
    );
  return false;
}

async function main() {
  const name = `scopekit_soak_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let server: ChildProcess | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  try {
    // Seed with the services, then hand the database to the server process.
    const database = await openDatabase({ url: url.toString(), dataDir: '' });
    const org = await ensureOrganization(database, 'soak');
    const { key } = await createApiKey(database, { organizationId: org.id, name: 'soak' });
    const agentIds: string[] = [];
    for (let i = 0; i < CHATS; i++)
      agentIds.push(
        (await createAgent(database, { organizationId: org.id, name: `soak ${i}` })).id,
      );
    await database.close();

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    server = spawn(
      process.execPath,
      ['--conditions=@scopekit/source', '--import', 'tsx', 'src/main.ts'],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: {
          ...process.env,
          NODE_ENV: 'test',
          DATABASE_URL: url.toString(),
          PORT: String(port),
          SCOPEKIT_LOG_LEVEL: 'warn',
          SCOPEKIT_BUILTIN_DELAY_MS: '0',
          SCOPEKIT_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
          // The soak measures the server, not the limiter.
          SCOPEKIT_RATE_LIMIT_TOKEN_PER_MINUTE: '1000000',
          SCOPEKIT_RATE_LIMIT_API_KEY_PER_MINUTE: '1000000',
          SCOPEKIT_BEARER_FAILURES_PER_MINUTE: '1000000',
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    for (let i = 0; ; i++) {
      const up = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (i > 300) throw new Error('the server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const pid = server.pid ?? 0;
    const mint = async (agentId: string) => {
      const answer = await call(base, 'POST', '/v1/client-side-access-tokens', key, {
        hostname: ORIGIN,
        policy: [{ type: 'agent', id: agentId, access: ['read_messages', 'write_messages'] }],
      });
      if (!expectStatus('mint', answer, [201])) return undefined;
      stats.mints++;
      return (answer.json as { token: string }).token;
    };

    const memory: { atMs: number; mb: number }[] = [];
    const deadline = Date.now() + SECONDS * 1000;
    const child = server;
    // Armed until the database is dropped, so a server wedged in shutdown is covered too.
    watchdog = setTimeout(
      () => {
        console.error(
          `soak: still running ${WATCHDOG_GRACE_MS / 1000} s past its ${SECONDS} s; killing the server`,
        );
        child.kill('SIGKILL');
        // Best effort: the database is a throwaway one either way.
        const dropped = admin.unsafe(`drop database if exists "${name}" with (force)`);
        const bounded = new Promise((r) => setTimeout(r, 5_000).unref());
        void Promise.race([dropped, bounded]).finally(() => process.exit(2));
      },
      SECONDS * 1000 + WATCHDOG_GRACE_MS,
    );
    watchdog.unref();
    const running = () => Date.now() < deadline;
    const current = new Map<number, string>();

    const chat = async (i: number) => {
      const agentId = agentIds[i] ?? '';
      let token = await mint(agentId);
      if (token) current.set(i, token);
      for (let n = 0; running() && token; n++) {
        const sent = await call(base, 'POST', `/v1/agents/${agentId}/messages`, token, {
          messages: [
            {
              role: 'user',
              content: n % 7 === 0 ? `remember that I like soak ${n}` : `hello ${n}`,
            },
          ],
        });
        // 401: the revoker took this token; the chat mints another.
        if (expectStatus('send', sent, [200, 401]) && sent.status === 200) stats.sends++;
        if (n % 5 === 0)
          expectStatus(
            'list messages',
            await call(base, 'GET', `/v1/agents/${agentId}/messages?limit=20`, token),
            [200, 401],
          );
        if (sent.status === 401) {
          token = await mint(agentId);
          if (token) current.set(i, token);
        }
      }
    };
    const minter = async () => {
      for (let n = 0; running(); n++) {
        await mint(agentIds[n % CHATS] ?? '');
        if (n % 10 === 0)
          expectStatus(
            'list tokens',
            await call(
              base,
              'GET',
              `/v1/client-side-access-tokens?agentId=${agentIds[n % CHATS]}&limit=10`,
              key,
            ),
            [200],
          );
      }
    };
    const revoker = async () => {
      for (let n = 0; running(); n++) {
        // Alternately a fresh token of its own and a token a chat is using right now.
        const token = n % 2 === 0 ? await mint(agentIds[n % CHATS] ?? '') : current.get(n % CHATS);
        if (!token || revokedAt.has(token)) continue;
        // Only this revoker revokes, and a token lives minutes: its DELETE must succeed.
        const revoked = await call(base, 'DELETE', `/v1/client-side-access-tokens/${token}`, key);
        if (!expectStatus('revoke', revoked, [204])) continue;
        revokedAt.set(token, performance.now());
        stats.revocations++;
        const probes = await Promise.all(
          [0, 1, 2].map(() =>
            call(base, 'GET', `/v1/agents/${agentIds[n % CHATS]}/messages?limit=1`, token),
          ),
        );
        for (const probe of probes.filter((p) => p.status !== 401 && p.status !== 0))
          stats.revokedNotRefused.push(`probe of a revoked token → ${probe.status}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const sampler = async () => {
      await new Promise((r) => setTimeout(r, 5_000)); // after warm-up
      const sample = () => memory.push({ atMs: Date.now(), mb: rssMb(pid) });
      while (running()) {
        sample();
        await new Promise((r) => setTimeout(r, 2_000));
      }
      sample();
    };

    const started = Date.now();
    await Promise.all([
      ...Array.from({ length: CHATS }, (_, i) => chat(i)),
      ...Array.from({ length: MINTERS }, () => minter()),
      revoker(),
      sampler(),
    ]);
    const elapsed = (Date.now() - started) / 1000;

    const mb = memory.map((s) => s.mb);
    const quarter = Math.max(1, Math.floor(mb.length / 4));
    const firstQuarter = median(mb.slice(0, quarter));
    const lastQuarter = median(mb.slice(-quarter));
    const growth = firstQuarter === 0 ? 0 : lastQuarter / firstQuarter - 1;
    const memoryFlat = mb.length >= 8 && growth <= MEMORY_TOLERANCE;
    const rows: [string, string, string][] = [
      ['duration', `${elapsed.toFixed(1)} s`, ''],
      [
        'requests served',
        stats.served.toLocaleString('en-US'),
        `${Math.round(stats.served / elapsed)} req/s`,
      ],
      [
        'messages sent (turns)',
        stats.sends.toLocaleString('en-US'),
        stats.sends > 0 ? 'met (at least 1)' : 'MISSED (at least 1)',
      ],
      ['tokens minted', stats.mints.toLocaleString('en-US'), ''],
      [
        'revocations acknowledged',
        stats.revocations.toLocaleString('en-US'),
        stats.revocations > 0 ? 'met (at least 1)' : 'MISSED (at least 1)',
      ],
      [
        '5xx responses',
        String(stats.fiveHundreds.length),
        stats.fiveHundreds.length === 0 ? 'met (0)' : 'MISSED',
      ],
      [
        'other unexpected statuses',
        String(stats.unexpected.length),
        stats.unexpected.length === 0 ? 'met (0)' : 'MISSED',
      ],
      [
        'accepted after acknowledged revocation',
        String(stats.acceptedAfterRevocation),
        stats.acceptedAfterRevocation === 0 ? 'met (0)' : 'MISSED',
      ],
      [
        'revoked-token probes not answered 401',
        String(stats.revokedNotRefused.length),
        stats.revokedNotRefused.length === 0 ? 'met (0)' : 'MISSED',
      ],
      [
        'requests unanswered within 10 s',
        String(stats.timeouts.length),
        stats.timeouts.length === 0 ? 'met (0)' : 'MISSED',
      ],
      [
        'server RSS, median of first → last quarter after warm-up',
        `${firstQuarter.toFixed(1)} → ${lastQuarter.toFixed(1)} MB (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(0)} %)`,
        `${memoryFlat ? 'flat: met' : 'MISSED'} (at most +${MEMORY_TOLERANCE * 100} %, at least 8 samples); slope ${slopeMbPerMinute(memory).toFixed(1)} MB/min; min ${Math.min(...mb)}, max ${Math.max(...mb)} MB over ${mb.length} samples`,
      ],
      [
        'statuses',
        [...stats.byStatus]
          .sort()
          .map(([s, n]) => `${s}: ${n}`)
          .join(', '),
        '',
      ],
    ];
    console.log('\n| soak figure | value | note |\n| --- | --- | --- |');
    for (const [figure, value, note] of rows) console.log(`| ${figure} | ${value} | ${note} |`);
    for (const line of [
      ...stats.fiveHundreds,
      ...stats.unexpected,
      ...stats.revokedNotRefused,
      ...stats.timeouts,
    ].slice(0, 10))
      console.error(line);
    process.exitCode =
      stats.sends > 0 &&
      stats.revocations > 0 &&
      stats.fiveHundreds.length === 0 &&
      stats.unexpected.length === 0 &&
      stats.acceptedAfterRevocation === 0 &&
      stats.revokedNotRefused.length === 0 &&
      stats.timeouts.length === 0 &&
      memoryFlat
        ? 0
        : 1;
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server?.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
    clearTimeout(watchdog);
  }
}

await main();
