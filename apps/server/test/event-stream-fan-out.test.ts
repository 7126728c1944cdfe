import { expect, it } from 'vitest';
import { publishConversationEvent } from '../src/conversation/conversation-events.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { APP_ORIGIN } from './support/fixtures.js';
import { useSuite } from './support/suite.js';

const s = useSuite({ server: true });

/** Opens `messages.events` over HTTP and gathers its text until `until` holds. */
async function openStream(token: string, agentId: string) {
  const controller = new AbortController();
  const input = encodeURIComponent(JSON.stringify({ agentId }));
  const response = await fetch(`${s.server.baseUrl}/trpc/messages.events?input=${input}`, {
    headers: { authorization: `Bearer ${token}`, origin: APP_ORIGIN },
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  const reader = response.body?.getReader();
  if (!reader) throw new Error('no body');
  const decoder = new TextDecoder();
  let text = '';
  const readUntil = async (until: (text: string) => boolean) => {
    while (!until(text)) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error(`stream ended: ${text}`);
      text += decoder.decode(chunk.value, { stream: true });
    }
    return text;
  };
  await readUntil((t) => t.includes('event: connected'));
  return { readUntil, close: () => controller.abort() };
}

it('writes one event to every subscriber of the conversation as the same frame', async () => {
  const { token } = await mintClientToken(s.deps, {
    organizationId: s.acme.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: s.acme.agentId, access: ['read_messages'] }],
  });
  const streams = await Promise.all(
    Array.from({ length: 5 }, () => openStream(token, s.acme.agentId)),
  );
  try {
    await publishConversationEvent(s.deps.bus, s.acme.agentId, {
      type: 'delta',
      messageId: 'message-1',
      runId: 'run-1',
      text: 'to all',
      index: 0,
      afterSeq: 3,
    });
    const frame = `data: ${JSON.stringify({ type: 'delta', messageId: 'message-1', runId: 'run-1', text: 'to all', index: 0, afterSeq: 3 })}\nid: 3:run-1:0\n\n\n`;
    for (const stream of streams) {
      const text = await stream.readUntil((t) => t.includes('id: 3:run-1:0'));
      expect(text).toBe(`event: connected\ndata: {}\n\n\n${frame}`);
    }
    // The instance counts them as live streams, and lets each go when its client leaves.
    expect(s.deps.liveStreams.open).toBe(5);
  } finally {
    for (const stream of streams) stream.close();
  }
  await expect.poll(() => s.deps.liveStreams.open).toBe(0);
});
