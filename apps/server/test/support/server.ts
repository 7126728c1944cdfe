import type { FastifyInstance } from 'fastify';
import type { ServiceDeps } from '../../src/deps.js';
import { buildApp } from '../../src/http/app.js';

export interface TestServer {
  app: FastifyInstance;
  baseUrl: string;
  close(): Promise<void>;
}

/** The real HTTP app listening on a loopback port of the OS's choosing. */
export async function startTestServer(
  deps: ServiceDeps,
  logging: { level: string; stream?: { write(line: string): void } } = { level: 'silent' },
): Promise<TestServer> {
  const app = await buildApp({ deps, logLevel: logging.level, logStream: logging.stream });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, baseUrl: address, close: () => app.close() };
}
