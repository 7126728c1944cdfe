import { and, eq, isNull } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import {
  type ActiveSession,
  createSession,
  endSession,
  mintSessionToken,
  resolveSession,
} from '../src/accounts/sessions.js';
import { signUp } from '../src/accounts/users.js';
import { clientTokens } from '../src/db/schema.js';
import { revokeApiKey } from '../src/tokens/api-keys.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { APP_ORIGIN } from './support/fixtures.js';
import { holdTransaction, outcomeOf, untilWaitingForLock } from './support/held-transaction.js';
import { useSuite } from './support/suite.js';

/**
 * A mint and its issuer's end (an API key's revocation, a session's log-out) running at
 * once, in either order: the token is refused or revoked, never left live. On PostgreSQL the
 * second waits on the first's lock; on PGlite it runs after it.
 */
const s = useSuite();

const mintWithKey = (deps = s.deps) =>
  mintClientToken(deps, {
    organizationId: s.acme.organizationId,
    issuer: { kind: 'apiKey', apiKeyId: s.acme.apiKeyId },
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_agent'] }],
  });

const revokeKey = (deps = s.deps) =>
  revokeApiKey(deps, { organizationId: s.acme.organizationId, id: s.acme.apiKeyId });

const liveTokens = () =>
  s.deps.db
    .select({ id: clientTokens.id })
    .from(clientTokens)
    .where(isNull(clientTokens.revokedAt));

async function logIn(): Promise<{ sessionId: string; session: ActiveSession }> {
  const user = await signUp(s.deps, { username: 'racer', password: 'a long password' });
  const { sessionId } = await createSession(s.deps, { userId: user.id });
  const session = await resolveSession(s.deps, { sessionId });
  if (!session) throw new Error('a new session does not resolve');
  return { sessionId, session };
}

describe('a mint racing its API key’s revocation', () => {
  it('waits for a revocation in flight and is refused with 401, storing nothing', async () => {
    const revocation = await holdTransaction(s.deps.db, (tx) => revokeKey({ ...s.deps, db: tx }));
    const mint = outcomeOf(mintWithKey());
    await untilWaitingForLock(s.database, mint);
    await revocation.commit();
    const outcome = await mint;
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? undefined : outcome.error).toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'Invalid API Key: this key has been revoked',
    });
    expect(await s.deps.db.select().from(clientTokens)).toEqual([]);
  });

  it('holds a revocation back until it commits, so the revocation takes the token', async () => {
    const mint = await holdTransaction(s.deps.db, (tx) => mintWithKey({ ...s.deps, db: tx }));
    const revocation = outcomeOf(revokeKey());
    await untilWaitingForLock(s.database, revocation);
    await mint.commit();
    expect((await revocation).ok).toBe(true);
    const [row] = await s.deps.db
      .select({ revokedAt: clientTokens.revokedAt, ciphertext: clientTokens.tokenCiphertext })
      .from(clientTokens)
      .where(eq(clientTokens.id, mint.result.id));
    expect(row).toEqual({ revokedAt: expect.any(Date), ciphertext: null });
  });
});

describe('a session token racing its log-out', () => {
  it('waits for a log-out in flight and is refused with 401, storing nothing', async () => {
    const { sessionId, session } = await logIn();
    const logOut = await holdTransaction(s.deps.db, (tx) =>
      endSession({ ...s.deps, db: tx }, { sessionId }),
    );
    const mint = outcomeOf(mintSessionToken(s.deps, { session, origin: APP_ORIGIN }));
    await untilWaitingForLock(s.database, mint);
    await logOut.commit();
    const outcome = await mint;
    expect(outcome.ok ? undefined : outcome.error).toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'Not logged in, or the session has ended; log in again',
    });
    expect(await s.deps.db.select().from(clientTokens)).toEqual([]);
  });

  it('holds a log-out back until it commits, so the log-out takes the token', async () => {
    const { sessionId, session } = await logIn();
    const mint = await holdTransaction(s.deps.db, (tx) =>
      mintSessionToken({ ...s.deps, db: tx }, { session, origin: APP_ORIGIN }),
    );
    const logOut = outcomeOf(endSession(s.deps, { sessionId }));
    await untilWaitingForLock(s.database, logOut);
    await mint.commit();
    expect((await logOut).ok).toBe(true);
    expect(await liveTokens()).toEqual([]);
    const [row] = await s.deps.db
      .select({ revokedAt: clientTokens.revokedAt })
      .from(clientTokens)
      .where(and(eq(clientTokens.id, mint.result.id), isNull(clientTokens.tokenCiphertext)));
    expect(row?.revokedAt).toBeInstanceOf(Date);
  });
});
