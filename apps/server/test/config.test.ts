import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, missingProductionSettings } from '../src/config.js';
import { runScript } from './support/processes.js';

describe('web origins in production', () => {
  it('has no localhost fallback in production, and says what to set', () => {
    const config = loadConfig({ NODE_ENV: 'production' });
    expect(config.accounts.webOrigins).toEqual([]);
    const [problem, ...others] = missingProductionSettings(config);
    expect(others).toEqual([]);
    expect(problem).toMatch(/^SCOPEKIT_WEB_ORIGINS is not set: set it to the origin/);
  });

  it('starts in production once SCOPEKIT_WEB_ORIGINS is set, and in development without it', () => {
    const production = loadConfig({
      NODE_ENV: 'production',
      SCOPEKIT_WEB_ORIGINS: 'https://chat.example.com',
    });
    expect(production.accounts.webOrigins).toEqual(['https://chat.example.com']);
    expect(missingProductionSettings(production)).toEqual([]);
    const development = loadConfig({ PORT: '9000' });
    expect(development.accounts.webOrigins).toContain('http://localhost:9000');
    expect(missingProductionSettings(development)).toEqual([]);
  });

  it('follows the two ports in development, one setting each', () => {
    expect(loadConfig({}).accounts.webOrigins).toEqual([
      'http://localhost:5173',
      'http://127.0.0.1:5173',
      'http://localhost:8283',
      'http://127.0.0.1:8283',
    ]);
    expect(loadConfig({ PORT: '9000', SCOPEKIT_WEB_PORT: '6000' }).accounts.webOrigins).toEqual([
      'http://localhost:6000',
      'http://127.0.0.1:6000',
      'http://localhost:9000',
      'http://127.0.0.1:9000',
    ]);
    expect(() => loadConfig({ SCOPEKIT_WEB_PORT: '0' })).toThrow(/SCOPEKIT_WEB_PORT/);
  });

  it('makes the server exit before opening its database', { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'scopekit-config-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', DATA_DIR: dataDir };
      delete env.SCOPEKIT_WEB_ORIGINS;
      delete env.DATABASE_URL;
      const exit = await runScript('src/main.ts', [], env);
      expect(exit.code).toBe(1);
      expect(exit.stderr).toMatch(
        /^Refusing to start in production: SCOPEKIT_WEB_ORIGINS is not set: .*\n$/,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('account limits', () => {
  it('reads the sign-up switch and the limits, with their defaults', () => {
    expect(loadConfig({}).accounts).toMatchObject({
      loginFailuresPerMinute: 10,
      loginFailuresPerUsernamePerMinute: 20,
      signUp: 'open',
      signUpsPerAddressPerHour: 10,
      sessionTokensPerMinute: 30,
    });
    expect(
      loadConfig({
        SCOPEKIT_SIGNUP: 'closed',
        SCOPEKIT_LOGIN_FAILURES_PER_USERNAME_PER_MINUTE: '7',
        SCOPEKIT_SIGNUPS_PER_ADDRESS_PER_HOUR: '3',
        SCOPEKIT_SESSION_TOKENS_PER_MINUTE: '12',
      }).accounts,
    ).toMatchObject({
      signUp: 'closed',
      loginFailuresPerUsernamePerMinute: 7,
      signUpsPerAddressPerHour: 3,
      sessionTokensPerMinute: 12,
    });
    expect(() => loadConfig({ SCOPEKIT_SIGNUP: 'maybe' })).toThrow(/SCOPEKIT_SIGNUP/);
  });
});

describe('turn timeouts', () => {
  it('stop a quiet turn after 60 s and any turn after 5 minutes, unless configured', () => {
    expect(loadConfig({})).toMatchObject({ turnIdleTimeoutMs: 60_000, turnTimeoutMs: 300_000 });
    expect(
      loadConfig({
        SCOPEKIT_TURN_IDLE_TIMEOUT_SECONDS: '2.5',
        SCOPEKIT_TURN_TIMEOUT_SECONDS: '90',
      }),
    ).toMatchObject({ turnIdleTimeoutMs: 2_500, turnTimeoutMs: 90_000 });
    expect(() => loadConfig({ SCOPEKIT_TURN_TIMEOUT_SECONDS: '0' })).toThrow(
      /SCOPEKIT_TURN_TIMEOUT_SECONDS/,
    );
  });
});

describe('the agent host', () => {
  it('is scopekit itself unless SCOPEKIT_AGENT_HOST=letta', () => {
    expect(loadConfig({}).lettaHost).toBeUndefined();
    expect(loadConfig({ LETTA_API_KEY: 'sk-let-x' }).lettaHost).toBeUndefined();
  });

  it('needs LETTA_API_KEY under Letta, defaults to Letta Cloud, and gives the browser its URL', () => {
    expect(() => loadConfig({ SCOPEKIT_AGENT_HOST: 'letta' })).toThrow(/needs LETTA_API_KEY/);
    const cloud = loadConfig({ SCOPEKIT_AGENT_HOST: 'letta', LETTA_API_KEY: 'sk-let-x' });
    expect(cloud.lettaHost).toEqual({
      baseUrl: 'https://api.letta.com',
      apiKey: 'sk-let-x',
      project: undefined,
    });
    expect(cloud.accounts.agentApiUrl).toBe('https://api.letta.com');
    const own = loadConfig({
      SCOPEKIT_AGENT_HOST: 'letta',
      LETTA_API_KEY: 'sk-let-x',
      LETTA_BASE_URL: 'http://127.0.0.1:8283/',
      LETTA_PROJECT: 'chat',
    });
    expect(own.lettaHost).toMatchObject({ baseUrl: 'http://127.0.0.1:8283', project: 'chat' });
    expect(() =>
      loadConfig({
        SCOPEKIT_AGENT_HOST: 'letta',
        LETTA_API_KEY: 'sk-let-x',
        LETTA_BASE_URL: 'https://letta.example.com/v1',
      }),
    ).toThrow(/LETTA_BASE_URL: .* must be an http\(s\) origin without a path/);
  });
});

describe('request timeouts', () => {
  it('give headers 20 s and a whole request 60 s to arrive, unless configured', () => {
    expect(loadConfig({}).requestTimeouts).toEqual({ headersMs: 20_000, requestMs: 60_000 });
    expect(
      loadConfig({
        SCOPEKIT_REQUEST_HEADERS_TIMEOUT_SECONDS: '0.5',
        SCOPEKIT_REQUEST_TIMEOUT_SECONDS: '2',
      }).requestTimeouts,
    ).toEqual({ headersMs: 500, requestMs: 2_000 });
    expect(() => loadConfig({ SCOPEKIT_REQUEST_TIMEOUT_SECONDS: '0' })).toThrow(
      /SCOPEKIT_REQUEST_TIMEOUT_SECONDS/,
    );
    // The headers are part of the request: their timeout cannot be the longer one.
    expect(() =>
      loadConfig({
        SCOPEKIT_REQUEST_HEADERS_TIMEOUT_SECONDS: '30',
        SCOPEKIT_REQUEST_TIMEOUT_SECONDS: '10',
      }),
    ).toThrow(
      /SCOPEKIT_REQUEST_HEADERS_TIMEOUT_SECONDS must not exceed SCOPEKIT_REQUEST_TIMEOUT_SECONDS/,
    );
  });
});
