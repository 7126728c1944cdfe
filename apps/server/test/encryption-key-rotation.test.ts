import { tokenRecordSchema } from '@scopekit/policy';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSession } from '../src/accounts/sessions.js';
import { signUp } from '../src/accounts/users.js';
import { loadConfig } from '../src/config.js';
import { loadSecretBox } from '../src/crypto/encryption-key.js';
import { SecretBox, UnreadableSecretError } from '../src/crypto/secret-box.js';
import { clientTokens } from '../src/db/schema.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { APP_ORIGIN } from './support/fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';
import { useSuite } from './support/suite.js';
import { browserTrpcClient } from './support/trpc-client.js';

const suite = useSuite();
let server: TestServer;
const lines: string[] = [];
const oldKey = SecretBox.generateKey();
const newKey = SecretBox.generateKey();
const otherKey = SecretBox.generateKey();

beforeAll(async () => {
  server = await startTestServer(suite.deps, {
    level: 'warn',
    stream: { write: (line) => lines.push(line) },
  });
});
afterAll(() => server.close());
beforeEach(() => {
  lines.length = 0;
  suite.deps.secrets = SecretBox.fromString(oldKey);
});

const mint = () =>
  mintClientToken(suite.deps, {
    organizationId: suite.acme.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: suite.acme.agentId, access: ['read_agent'] }],
  });

/** Token values as the REST list call shows them (Letta's records: always a value), sorted. */
async function restListed(): Promise<string[]> {
  const response = await fetch(`${server.baseUrl}/v1/client-side-access-tokens?limit=100`, {
    headers: { authorization: `Bearer ${suite.acme.apiKey}` },
  });
  expect(response.status).toBe(200);
  const { tokens } = z.object({ tokens: z.array(tokenRecordSchema) }).parse(await response.json());
  return tokens.map((t) => t.token).sort();
}

async function trpcListed(): Promise<(string | null)[]> {
  const page = await browserTrpcClient(server.baseUrl, suite.acme.apiKey).tokens.list.query({
    limit: 100,
  });
  return sortedValues(page.tokens);
}

const sortedValues = (tokens: { token: string | null }[]) =>
  tokens.map((t) => t.token).sort((a, b) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : 1));

async function sealedOf(id: string): Promise<string> {
  const [row] = await suite.deps.db
    .select({ sealed: clientTokens.tokenCiphertext })
    .from(clientTokens)
    .where(eq(clientTokens.id, id));
  return row?.sealed ?? '';
}

describe('SCOPEKIT_ENCRYPTION_KEY rotation', () => {
  it('lists tokens sealed with a previous key, and seals new ones with the current key', async () => {
    const before = await mint();
    suite.deps.secrets = SecretBox.fromString(newKey, ` ${otherKey} , ${oldKey} `);
    const after = await mint();

    const both = [before.token, after.token].sort();
    expect(await restListed()).toEqual(both);
    expect(await trpcListed()).toEqual(both);
    expect(SecretBox.fromString(newKey).open(await sealedOf(after.id), after.id)).toBe(after.token);
    const sealedAfter = await sealedOf(after.id);
    expect(() => SecretBox.fromString(oldKey).open(sealedAfter, after.id)).toThrow(
      UnreadableSecretError,
    );
    expect(lines).toEqual([]);
  });

  it('lists a token no key decrypts without its value, and warns naming only its id', async () => {
    const lost = await mint();
    suite.deps.secrets = SecretBox.fromString(newKey, otherKey);
    const kept = await mint();

    // Letta's token record has a string value, so REST leaves it out; tRPC says null.
    expect(await restListed()).toEqual([kept.token]);
    expect(await trpcListed()).toEqual([kept.token, null]);
    const warnings = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(warnings).toHaveLength(2);
    for (const warning of warnings) {
      expect(warning).toMatchObject({ level: 40, tokenId: lost.id });
      expect(warning.msg).toContain('cannot be decrypted');
    }
    const sealed = await sealedOf(lost.id);
    for (const line of lines) {
      expect(line).not.toContain(lost.token);
      expect(line).not.toContain(sealed);
    }
  });
});

describe('a corrupt stored value', () => {
  const corruptions: [string, (sealed: string) => string][] = [
    ['cut short', (sealed) => sealed.slice(0, 30)],
    ['shorter than its tag', (sealed) => `${sealed.split('.').slice(0, 2).join('.')}.AAAA`],
    ['with a bad IV', (sealed) => `v1.!!.${sealed.split('.')[2]}`],
    [
      'with a byte changed',
      (sealed) => `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'BB' : 'AA'}`,
    ],
    ['with a part too many', (sealed) => `${sealed}.AAAA`],
  ];

  it.each(corruptions)('is unreadable: %s', (_name, corrupt) => {
    const box = SecretBox.fromString(oldKey);
    expect(() => box.open(corrupt(box.seal('ck-let-secret', 'tok-1')), 'tok-1')).toThrow(
      UnreadableSecretError,
    );
  });

  it('costs the listing that value only, as a lost key does', async () => {
    const corrupted = await mint();
    const kept = await mint();
    await suite.deps.db
      .update(clientTokens)
      .set({ tokenCiphertext: (await sealedOf(corrupted.id)).slice(0, 30) })
      .where(eq(clientTokens.id, corrupted.id));
    expect(await restListed()).toEqual([kept.token]);
    expect(await trpcListed()).toEqual([kept.token, null]);
    expect(lines.map((line) => JSON.parse(line).tokenId)).toEqual([corrupted.id, corrupted.id]);
  });
});

describe('the admin token list', () => {
  it('lists tokens without decrypting any', async () => {
    const admin = await signUp(suite.deps, {
      username: 'root',
      password: 'root password',
      role: 'admin',
    });
    const { sessionId } = await createSession(suite.deps, { userId: admin.id });
    const minted = await mintClientToken(suite.deps, {
      organizationId: admin.organizationId,
      hostname: APP_ORIGIN,
      policy: [{ type: 'agent', id: admin.agentId, access: ['read_agent'] }],
    });
    // No configured key opens it now: decrypting it would log a warning.
    suite.deps.secrets = SecretBox.fromString(newKey);
    const response = await fetch(`${server.baseUrl}/trpc/admin.tokens.list`, {
      headers: { origin: APP_ORIGIN, cookie: `scopekit_session=${sessionId}` },
    });
    expect(response.status).toBe(200);
    const { result } = (await response.json()) as {
      result: { data: { tokens: Record<string, unknown>[] } };
    };
    expect(result.data.tokens.map((token) => token.id)).toEqual([minted.id]);
    expect(result.data.tokens[0]).not.toHaveProperty('token');
    expect(lines).toEqual([]);
  });
});

describe('loading the keys', () => {
  it('reads SCOPEKIT_ENCRYPTION_KEY_PREVIOUS as a comma-separated list, hex or base64', () => {
    const sealed = SecretBox.fromString(oldKey).seal('secret', 'aad');
    const hexOldKey = Buffer.from(oldKey, 'base64').toString('hex');
    const rotated = loadSecretBox(
      loadConfig({
        SCOPEKIT_ENCRYPTION_KEY: newKey,
        SCOPEKIT_ENCRYPTION_KEY_PREVIOUS: `${otherKey},${hexOldKey}`,
      }),
    );
    expect(rotated.open(sealed, 'aad')).toBe('secret');
    const current = loadSecretBox(loadConfig({ SCOPEKIT_ENCRYPTION_KEY: newKey }));
    expect(() => current.open(sealed, 'aad')).toThrow(UnreadableSecretError);
  });

  it('names SCOPEKIT_ENCRYPTION_KEY_PREVIOUS when one of its keys is malformed', () => {
    const config = loadConfig({
      SCOPEKIT_ENCRYPTION_KEY: newKey,
      SCOPEKIT_ENCRYPTION_KEY_PREVIOUS: `${oldKey},short`,
    });
    expect(() => loadSecretBox(config)).toThrow(
      'SCOPEKIT_ENCRYPTION_KEY_PREVIOUS must be 32 bytes',
    );
  });
});
