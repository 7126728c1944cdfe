import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { makeDeps, TestClock } from './support/fixtures.js';

// The web build writes .br and .gz copies next to each asset; the server sends the copy the
// client accepts, and the file itself to a client that accepts neither.
const script = `console.log(${JSON.stringify('scopekit '.repeat(200))});`;
let database: TestDatabase;
let app: FastifyInstance;
let baseUrl: string;
const dist = mkdtempSync(join(tmpdir(), 'scopekit-web-'));

beforeAll(async () => {
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>scopekit</title>');
  writeFileSync(join(dist, 'assets', 'app-abc123.js'), script);
  writeFileSync(join(dist, 'assets', 'app-abc123.js.br'), brotliCompressSync(script));
  writeFileSync(join(dist, 'assets', 'app-abc123.js.gz'), gzipSync(script));
  writeFileSync(join(dist, 'assets', 'app-abc123.js.map'), '{"version":3,"sources":[]}');
  database = await openTestDatabase();
  app = await buildApp({
    deps: makeDeps(database, new TestClock()),
    logLevel: 'silent',
    webDist: dist,
  });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  await database.close();
  rmSync(dist, { recursive: true, force: true });
});

it.each([
  ['br', 'br'],
  ['gzip', 'gzip'],
  ['identity', undefined],
])('accept-encoding %s is answered with %s', async (accepted, sent) => {
  const response = await fetch(`${baseUrl}/assets/app-abc123.js`, {
    headers: { 'accept-encoding': accepted },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-encoding') ?? undefined).toBe(sent);
  expect(response.headers.get('content-type')).toMatch(/javascript/);
  expect(response.headers.get('cache-control')).toMatch(/immutable/);
  expect(await response.text()).toBe(script);
});

it("does not serve the build's sourcemaps", async () => {
  for (const path of ['/assets/app-abc123.js.map', '/assets/app-abc123.JS.MAP']) {
    const response = await fetch(`${baseUrl}${path}`, { headers: { 'accept-encoding': 'br' } });
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain('"version":3');
  }
  expect((await fetch(`${baseUrl}/assets/app-abc123.js`)).status).toBe(200);
});
