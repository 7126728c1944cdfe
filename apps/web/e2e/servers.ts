import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * scopekit processes for the tests: the shared one (global-setup.ts) and those of the specs
 * that need more, started as `pnpm dev` starts one (tsx, workspace packages from source),
 * each on a free loopback port unless told which, stopped with SIGTERM. Each gets its own
 * DATA_DIR holding a copy of the run's migrated database (`dataDirFromSnapshot`).
 */
const serverDir = fileURLToPath(new URL('../../server/', import.meta.url));
const tsx = join(serverDir, 'node_modules/.bin/tsx');
const webDist = fileURLToPath(new URL('../dist', import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** This process's environment without the server's own settings, which each start sets. */
const inherited = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) =>
      !/^(SCOPEKIT_|LETTA_|LLM_|DATABASE_URL$|DATA_DIR$|PORT$|HOST$|NODE_ENV$)/.test(name),
  ),
);

const baseEnv = (dataDir: string): NodeJS.ProcessEnv => ({
  ...inherited,
  NODE_ENV: 'development',
  HOST: '127.0.0.1',
  DATA_DIR: dataDir,
  SCOPEKIT_WEB_DIST: webDist,
  SCOPEKIT_LOG_LEVEL: 'warn',
});

/** Started and not yet exited: a hook that timed out must not leave its server running. */
const running = new Set<ChildProcess>();

/** SIGTERM to every process still running, which tsx passes on to its script. */
export function stopAll() {
  for (const child of running) child.kill('SIGTERM');
}

function run(script: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(tsx, ['--conditions=@scopekit/source', join(serverDir, script), ...args], {
    cwd: serverDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.on('exit', () => running.delete(child));
  return child;
}

/** `pnpm cli keys create` on the embedded database under `dataDir`: the new sk-let- key. */
export async function createApiKey(dataDir: string, org: string): Promise<string> {
  const child = run('src/cli.ts', ['keys', 'create', '--org', org, '--name', 'app'], {
    ...baseEnv(dataDir),
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const code = await new Promise((resolve) => child.on('close', resolve));
  const key = /sk-let-\S+/.exec(out)?.[0];
  if (code !== 0 || !key) throw new Error(`keys create failed (${String(code)}): ${err}`);
  return key;
}

export interface ServerProcess {
  /** The http origin it listens on, by 127.0.0.1. */
  origin: string;
  port: number;
  stop(): Promise<void>;
}

/** A server on a free port, with `env` over the defaults above; resolves once it is healthy. */
export async function startServer(
  dataDir: string,
  env: NodeJS.ProcessEnv,
  port?: number,
): Promise<ServerProcess> {
  const chosen = port ?? (await freePort());
  const child = run('src/main.ts', [], { ...baseEnv(dataDir), PORT: String(chosen), ...env });
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const origin = `http://127.0.0.1:${chosen}`;
  const exited = new Promise<never>((_, reject) =>
    child.on('exit', (code) => reject(new Error(`server exited (${String(code)}): ${err}`))),
  );
  const healthy = (async () => {
    for (let i = 0; i < 600; i++) {
      try {
        if ((await fetch(`${origin}/healthz`)).ok) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    throw new Error(`server on ${origin} never became healthy: ${err}`);
  })();
  exited.catch(() => {}); // Once healthy, a later exit (the stop below) is expected.
  await Promise.race([healthy, exited]);
  return {
    origin,
    port: chosen,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.on('exit', resolve));
    },
  };
}
