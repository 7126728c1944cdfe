import { describe, expect, it } from 'vitest';
import { APP_ORIGIN } from './support/fixtures.js';
import { useSuite } from './support/suite.js';
import { browserTrpcClient } from './support/trpc-client.js';

// The README's worked example ("Your first feature"): a person renames their own agent from
// the chat page through session.renameAgent, over real HTTP with a real session cookie.
const s = useSuite({ server: true });

/** tRPC's answer to one call: its data, or its error's message. */
interface Answer {
  result?: { data: unknown };
  error?: { message: string };
}

async function call(procedure: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${s.server.baseUrl}/trpc/${procedure}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: APP_ORIGIN, ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Answer };
}

/** Signs a person up; answers their cookie and a tRPC client on their browser token. */
async function person(username: string) {
  const signUp = await fetch(`${s.server.baseUrl}/trpc/session.signUp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: APP_ORIGIN },
    body: JSON.stringify({ username, password: `${username} password` }),
  });
  expect(signUp.status).toBe(200);
  const cookie = signUp.headers.getSetCookie()[0]?.split(';')[0] ?? '';
  const minted = await call('session.token', {}, { cookie });
  expect(minted.status).toBe(200);
  const { token, agentId } = (minted.body.result as { data: { token: string; agentId: string } })
    .data;
  return { cookie, agentId, agent: browserTrpcClient(s.server.baseUrl, token) };
}

describe('session.renameAgent', () => {
  it("renames the person's own agent, and no one else's", async () => {
    const olga = await person('olga');
    const pat = await person('pat');

    const renamed = await call(
      'session.renameAgent',
      { name: '  Tea expert ' },
      { cookie: olga.cookie },
    );
    expect(renamed.status).toBe(200);
    expect(renamed.body.result?.data).toEqual({ agentId: olga.agentId, name: 'Tea expert' });

    expect((await olga.agent.agents.retrieve.query({ agentId: olga.agentId })).name).toBe(
      'Tea expert',
    );
    expect((await pat.agent.agents.retrieve.query({ agentId: pat.agentId })).name).not.toBe(
      'Tea expert',
    );
  });

  it('is what the browser token cannot do: it lacks write_agent', async () => {
    const olga = await person('olga');
    await expect(
      olga.agent.agents.update.mutate({ agentId: olga.agentId, name: 'Tea expert' }),
    ).rejects.toMatchObject({ data: { httpStatus: 403 } });
  });

  it('refuses a bad name with a 400 naming the field, changing nothing', async () => {
    const olga = await person('olga');
    const before = (await olga.agent.agents.retrieve.query({ agentId: olga.agentId })).name;

    for (const [name, message] of [
      ['   ', 'name: must not be empty'],
      ['x'.repeat(201), 'name: must be at most 200 characters'],
      [42, 'name:'],
    ] as const) {
      const refused = await call('session.renameAgent', { name }, { cookie: olga.cookie });
      expect(refused.status).toBe(400);
      expect(refused.body.error?.message).toContain(message);
    }
    // The agent is the session's: naming one in the input is refused, not obeyed.
    const pat = await person('pat');
    const named = await call(
      'session.renameAgent',
      { name: 'mine now', agentId: pat.agentId },
      { cookie: olga.cookie },
    );
    expect(named.status).toBe(400);
    expect(named.body.error?.message).toContain('agentId');

    expect((await olga.agent.agents.retrieve.query({ agentId: olga.agentId })).name).toBe(before);
    expect((await pat.agent.agents.retrieve.query({ agentId: pat.agentId })).name).not.toBe(
      'mine now',
    );
  });

  it('needs a session, from the web app', async () => {
    const olga = await person('olga');
    expect((await call('session.renameAgent', { name: 'x' })).status).toBe(401);
    const elsewhere = await call(
      'session.renameAgent',
      { name: 'x' },
      { cookie: olga.cookie, origin: 'https://evil.example' },
    );
    expect(elsewhere.status).toBe(403);
  });
});
