import { rssMb } from './memory.js';
import { call, expectStatus, ORIGIN, revokedAt, stats } from './stats.js';

/** The soak's concurrent clients: chats, minters, a revoker, and the memory sampler. */
export interface Soak {
  base: string;
  /** The organization's API key. */
  key: string;
  agentIds: string[];
  /** The server's process, whose memory is sampled. */
  pid: number;
  running: () => boolean;
  /** RSS samples after warm-up, filled by `sampler`. */
  memory: { atMs: number; mb: number }[];
}

export function workers(soak: Soak) {
  const { base, key, agentIds, pid, running, memory } = soak;
  const CHATS = agentIds.length;
  /** The token each chat is using right now, which the revoker takes from them. */
  const current = new Map<number, string>();
  const mint = async (agentId: string) => {
    const answer = await call(base, 'POST', '/v1/client-side-access-tokens', key, {
      hostname: ORIGIN,
      policy: [{ type: 'agent', id: agentId, access: ['read_messages', 'write_messages'] }],
    });
    if (!expectStatus('mint', answer, [201])) return undefined;
    stats.mints++;
    return (answer.json as { token: string }).token;
  };

  const chat = async (i: number) => {
    const agentId = agentIds[i] ?? '';
    let token = await mint(agentId);
    if (token) current.set(i, token);
    for (let n = 0; running() && token; n++) {
      const sent = await call(base, 'POST', `/v1/agents/${agentId}/messages`, token, {
        messages: [
          {
            role: 'user',
            content: n % 7 === 0 ? `remember that I like soak ${n}` : `hello ${n}`,
          },
        ],
      });
      // 401: the revoker took this token; the chat mints another.
      if (expectStatus('send', sent, [200, 401]) && sent.status === 200) stats.sends++;
      if (n % 5 === 0)
        expectStatus(
          'list messages',
          await call(base, 'GET', `/v1/agents/${agentId}/messages?limit=20`, token),
          [200, 401],
        );
      if (sent.status === 401) {
        token = await mint(agentId);
        if (token) current.set(i, token);
      }
    }
  };
  const minter = async () => {
    for (let n = 0; running(); n++) {
      await mint(agentIds[n % CHATS] ?? '');
      if (n % 10 === 0)
        expectStatus(
          'list tokens',
          await call(
            base,
            'GET',
            `/v1/client-side-access-tokens?agentId=${agentIds[n % CHATS]}&limit=10`,
            key,
          ),
          [200],
        );
    }
  };
  const revoker = async () => {
    for (let n = 0; running(); n++) {
      // Alternately a fresh token of its own and a token a chat is using right now.
      const token = n % 2 === 0 ? await mint(agentIds[n % CHATS] ?? '') : current.get(n % CHATS);
      if (!token || revokedAt.has(token)) continue;
      // Only this revoker revokes, and a token lives minutes: its DELETE must succeed.
      const revoked = await call(base, 'DELETE', `/v1/client-side-access-tokens/${token}`, key);
      if (!expectStatus('revoke', revoked, [204])) continue;
      revokedAt.set(token, performance.now());
      stats.revocations++;
      const probes = await Promise.all(
        [0, 1, 2].map(() =>
          call(base, 'GET', `/v1/agents/${agentIds[n % CHATS]}/messages?limit=1`, token),
        ),
      );
      for (const probe of probes.filter((p) => p.status !== 401 && p.status !== 0))
        stats.revokedNotRefused.push(`probe of a revoked token → ${probe.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const sampler = async () => {
    await new Promise((r) => setTimeout(r, 5_000)); // after warm-up
    const sample = () => memory.push({ atMs: Date.now(), mb: rssMb(pid) });
    while (running()) {
      sample();
      await new Promise((r) => setTimeout(r, 2_000));
    }
    sample();
  };

  return { chat, minter, revoker, sampler };
}
