import { type ChildProcess, fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { buildServer } from '../scripts/build.js';

/** What every step shares: the table it adds rows to, its limits, and child processes. */
export const DURATION_S = Number(process.env.BENCH_DURATION ?? 5);
export const ORIGIN = 'https://chat.example.com';

export interface Row {
  figure: string;
  target: string;
  measured: string;
  /** `failed`: the step threw before it could measure (a refusal under load, a timeout). */
  verdict: 'met' | 'missed' | 'reported' | 'failed';
}
export const rows: Row[] = [];
export const children = new Set<ChildProcess>();
export const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

/**
 * The server instance the steps measure (`instance.ts`), built as `pnpm build` builds the
 * server and run by plain Node, as in production: through tsx every closure would carry the
 * name tsx gives it, which alone costs a few KB per open stream. The load generators and
 * baselines stay TypeScript run by tsx; they are not what is measured.
 */
export const INSTANCE = fileURLToPath(new URL('../dist/bench/instance.js', import.meta.url));

/** Builds `INSTANCE` (with the server it imports); once, before the first step. */
export async function buildInstance(): Promise<void> {
  await buildServer(['src/**/*.ts', 'bench/instance.ts', 'bench/settled-memory.ts']);
}

/** Node's arguments to run `script`: `INSTANCE` as it is, any other script through tsx. */
function nodeArguments(script: string): string[] {
  if (script === INSTANCE) return [INSTANCE];
  return [
    '--conditions=@scopekit/source',
    '--import',
    'tsx',
    fileURLToPath(new URL(script, import.meta.url)),
  ];
}

/** A server instance in its own process, as in production; `env` names its database. */
export async function startInstance(
  env: NodeJS.ProcessEnv,
): Promise<{ url: string; child: ChildProcess }> {
  const child = fork(INSTANCE, [], { env, execArgv: ['--expose-gc'] });
  children.add(child);
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`A server instance exited with ${code}`)));
    child.on('message', (message) => {
      const m = message as { url?: string };
      if (m.url) resolve(m.url);
    });
  });
  return { url, child };
}

/**
 * A Node child process with the file-descriptor limit raised to the hard limit, for this
 * child only (through `sh -c 'ulimit -n …; exec node …'`; the IPC channel survives the exec):
 * the machine's own limit is left alone.
 */
export function forkWithManyFiles(
  script: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; gc?: boolean } = {},
): ChildProcess {
  const gc = options.gc ? ['--expose-gc'] : [];
  const child = spawn(
    'sh',
    [
      '-c',
      'ulimit -n "$(ulimit -Hn)" && exec "$@"',
      'sh',
      process.execPath,
      ...gc,
      ...nodeArguments(script),
      ...args,
    ],
    { env: options.env ?? process.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  children.add(child);
  return child;
}

/** The first IPC message of `child` that has `key`, or a rejection if it exits first. */
export function messageWith<T>(child: ChildProcess, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`a child process exited with ${code} before sending ${key}`));
    const onMessage = (message: unknown) => {
      if (typeof message === 'object' && message !== null && key in message) {
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message as T);
      }
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/**
 * Runs `script` (a bench server: a baseline, a fake model) in a child process of its own,
 * descriptor limit raised, for as long as `run` takes, then kills it. The script reports
 * `{ port }` once it listens.
 */
export async function withChild<T>(
  script: string,
  args: string[],
  run: (port: number, child: ChildProcess) => Promise<T>,
  options: { gc?: boolean } = {},
): Promise<T> {
  const child = forkWithManyFiles(script, args, options);
  try {
    const { port } = await messageWith<{ port: number }>(child, 'port');
    return await run(port, child);
  } finally {
    child.kill();
    await exited(child);
    children.delete(child);
  }
}

/** How long an instance is given to shut down gracefully once a step is done with it. */
const STOP_GRACE_MS = 10_000;

/**
 * Ends an instance a step is done with: gracefully (it closes its server and pool when its
 * IPC channel goes), then killed if that takes longer than STOP_GRACE_MS. An instance left
 * with thousands of turns queued (the conversations step) can take minutes to drain them,
 * and nothing is measured after the step.
 */
export async function stopInstance(child: ChildProcess): Promise<void> {
  if (child.connected) child.disconnect();
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited(child);
  clearTimeout(timer);
  children.delete(child);
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections?: number;
}

/** One autocannon run after a one-second warm-up; refuses to count a run with errors. */
export async function load(options: LoadOptions, seconds = DURATION_S, server?: ChildProcess) {
  const base = { connections: options.connections ?? 50, ...options };
  await autocannon({ ...base, duration: 1 });
  const cpuBefore = server ? await ask<NodeJS.CpuUsage>(server, 'cpu') : undefined;
  const result = await autocannon({ ...base, duration: seconds });
  const cpuAfter = server ? await ask<NodeJS.CpuUsage>(server, 'cpu') : undefined;
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(
      `${options.url}: ${result.non2xx} non-2xx answers and ${result.errors} errors under load`,
    );
  }
  const cpuUs =
    cpuBefore && cpuAfter
      ? cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system
      : Number.NaN;
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    /** The server's CPU time per request answered, in µs: what throughput is made of. */
    cpuPerRequestUs: cpuUs / result.requests.total,
  };
}

/** Asks an instance for its `cpu` or its settled `memory` over the IPC channel. */
export function ask<T>(child: ChildProcess, what: 'cpu' | 'memory'): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      const answer = (message as Record<string, T | undefined>)[what];
      if (answer) {
        child.off('message', onMessage);
        resolve(answer);
      }
    };
    child.on('message', onMessage);
    child.send(what);
  });
}

export async function within<T>(promise: Promise<T>, ms: number, failure: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(failure)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function bearer(credential: string, origin?: string): Record<string, string> {
  return { authorization: `Bearer ${credential}`, ...(origin ? { origin } : {}) };
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
