import { describe, expect, it } from 'vitest';
import { messages } from '../src/db/schema.js';
import { useSuite } from './support/suite.js';

const s = useSuite({ server: true });

const send = (body: unknown, path = 'messages') =>
  fetch(`${s.server.baseUrl}/v1/agents/${s.acme.agentId}/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.acme.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const storedMessages = () => s.database.db.select().from(messages);

describe('sending over HTTP', () => {
  it('takes a 30 KB message and answers 200 with the reply', async () => {
    const content = 'a cup of tea, ünïcødé € 🫖 '.repeat(900).trim();
    expect(Buffer.byteLength(content)).toBeGreaterThan(30 * 1024);
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(32 * 1024);
    const response = await send({ messages: [{ role: 'user', content }] });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      messages: { message_type: string; content: string }[];
    };
    expect(body.messages).toHaveLength(1);
    expect(body.messages[0]?.content).toContain(content);
    expect((await storedMessages()).map((m) => m.content)).toContain(content);
  });

  it('refuses an oversize message with 413 and an empty one with 400, storing nothing', async () => {
    for (const streaming of [false, true]) {
      const oversize = await send({
        messages: [{ role: 'user', content: 'x'.repeat(32 * 1024 + 1) }],
        streaming,
      });
      expect(oversize.status).toBe(413);
      expect(((await oversize.json()) as { message: string }).message).toMatch(
        /messages\.0\.content.*32769 bytes; at most 32768/,
      );
      const empty = await send({ messages: [{ role: 'user', content: '  ' }], streaming });
      expect(empty.status).toBe(400);
      expect(((await empty.json()) as { message: string }).message).toMatch(
        /messages\.0\.content.*must not be empty/,
      );
    }
    expect(await storedMessages()).toEqual([]);
  });
});
