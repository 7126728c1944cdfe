import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressKey } from '../src/auth/rate-limit.js';
import { loadConfig } from '../src/config.js';
import type { ServiceDeps } from '../src/deps.js';
import { buildApp } from '../src/http/app.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { APP_ORIGIN, makeDeps, TestClock } from './support/fixtures.js';

describe('SCOPEKIT_TRUST_PROXY', () => {
  const trustProxy = (value: string) => loadConfig({ SCOPEKIT_TRUST_PROXY: value }).trustProxy;

  it('takes the proxies’ addresses and CIDRs, and is off by default', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(trustProxy('false')).toBe(false);
    expect(trustProxy('10.0.0.0/8, 192.0.2.1,2001:db8::/32, loopback')).toEqual([
      '10.0.0.0/8',
      '192.0.2.1',
      '2001:db8::/32',
      'loopback',
    ]);
  });

  it('refuses `true`, which believes the address the client wrote, and says what to give', () => {
    expect(() => trustProxy('true')).toThrow(
      /SCOPEKIT_TRUST_PROXY: .*left-most X-Forwarded-For.*addresses\/CIDRs/,
    );
  });

  it('refuses a hop count, which a direct client could forge, and says what to give', () => {
    expect(() => trustProxy('1')).toThrow(
      /SCOPEKIT_TRUST_PROXY: a hop count \(1\) is not taken.*addresses\/CIDRs/,
    );
  });

  it('refuses what is not an address or a CIDR, naming it', () => {
    expect(() => trustProxy('10.0.0.0/33')).toThrow(/"10\.0\.0\.0\/33" is not an IP address/);
    expect(() => trustProxy('10.0.0.1, proxy.internal')).toThrow(/"proxy\.internal"/);
  });
});

describe('per-address limit keys', () => {
  it('count an IPv6 client by its /64, and an IPv4-mapped address as IPv4', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2::a')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:0:0:1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::a')).toBe('2001:db8:1:3::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey(undefined)).toBe('unknown');
  });
});

describe('behind a trusted proxy (SCOPEKIT_TRUST_PROXY=127.0.0.1)', () => {
  let database: TestDatabase;
  let deps: ServiceDeps;
  let app: FastifyInstance;
  let base: string;
  const clock = new TestClock();

  beforeAll(async () => {
    database = await openTestDatabase();
    deps = makeDeps(database, clock, {}, undefined, {
      loginFailuresPerMinute: 3,
      loginFailuresPerUsernamePerMinute: 1_000,
    });
    app = await buildApp({
      deps,
      logLevel: 'silent',
      trustProxy: loadConfig({ SCOPEKIT_TRUST_PROXY: '127.0.0.1' }).trustProxy,
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
    await database.close();
  });

  /** A failed log-in under a fresh username, so only the per-address limit can refuse it. */
  let attempt = 0;
  const logIn = (forwardedFor: string) =>
    fetch(`${base}/trpc/session.logIn`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        origin: APP_ORIGIN,
        'x-forwarded-for': forwardedFor,
      },
      body: JSON.stringify({ username: `nobody-${attempt++}`, password: 'wrong password' }),
    });

  it('counts the address the proxy appended, whatever the client wrote before it', async () => {
    clock.startOfWindow();
    for (let i = 0; i < 3; i++)
      expect((await logIn(`198.51.100.${i}, 203.0.113.7`)).status).toBe(401);
    expect((await logIn('10.9.9.9, 203.0.113.7')).status).toBe(429);
    // Another client behind the same proxy keeps its own allowance.
    expect((await logIn('203.0.113.7, 203.0.113.8')).status).toBe(401);
  });

  it('counts an IPv6 client by its /64, so a new address in it gets no new allowance', async () => {
    clock.startOfWindow();
    for (const host of ['a', 'b', 'c'])
      expect((await logIn(`2001:db8:1:2::${host}`)).status).toBe(401);
    expect((await logIn('2001:db8:1:2:ffff:ffff:ffff:1')).status).toBe(429);
    expect((await logIn('2001:db8:1:3::a')).status).toBe(401);
  });
});
