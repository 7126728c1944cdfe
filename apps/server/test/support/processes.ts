import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { afterAll } from 'vitest';

const serverDir = new URL('../..', import.meta.url).pathname;

/**
 * Processes not yet exited: a test that timed out would otherwise leave its server running.
 * SIGTERM, so a server shuts down as it would in production.
 */
const running = new Set<ChildProcessWithoutNullStreams>();
afterAll(() => {
  for (const child of running) child.kill('SIGTERM');
});

/**
 * Starts a server script (`src/main.ts`, `src/cli.ts`) as its own process, TypeScript run
 * through tsx's loader with the workspace packages read from source, as `pnpm dev` and
 * `pnpm cli` do. The one place tests start a process.
 *
 * Node with `--import tsx`, not the tsx command: the command runs the script in a second
 * process and relays a signal to it, and when the script has not acknowledged the signal
 * within 30 ms it kills it (exit 143). On a busy machine that cut the shutdown under test
 * before it began; here the signal reaches the script itself.
 */
export function spawnScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): ChildProcessWithoutNullStreams {
  const child = spawn(
    process.execPath,
    ['--conditions=@scopekit/source', '--import', 'tsx', script, ...args],
    { cwd: serverDir, env },
  );
  running.add(child);
  child.on('exit', () => running.delete(child));
  return child;
}

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script to its end. */
export function runScript(script: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawnScript(script, args, env);
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise<ScriptRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A started server's output as it comes, its exit, and its address once it listens. */
export function watchServer(child: ChildProcessWithoutNullStreams) {
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return {
    output: () => output,
    exited,
    /** Its base URL, or undefined if it exits first; the test's timeout bounds the wait. */
    async listening(): Promise<string | undefined> {
      for (;;) {
        const base = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
        if (base || child.exitCode !== null || child.signalCode !== null) return base;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** Signs a new web user up as the web app does, and returns their agent and its token. */
export async function signUpForToken(base: string, origin: string, username: string) {
  const web = { 'content-type': 'application/json', origin };
  const signedUp = await fetch(`${base}/trpc/session.signUp`, {
    method: 'POST',
    headers: web,
    body: JSON.stringify({ username, password: 'a long password' }),
  });
  // `__Host-` prefixed in production, where the cookie is Secure.
  const cookie = /(?:__Host-)?scopekit_session=[^;]+/.exec(
    signedUp.headers.get('set-cookie') ?? '',
  )?.[0];
  const minted = await fetch(`${base}/trpc/session.token`, {
    method: 'POST',
    headers: { ...web, cookie: cookie ?? '' },
  });
  const body = (await minted.json()) as { result?: { data: { token: string; agentId: string } } };
  return { status: signedUp.status, cookie, ...body.result?.data };
}
