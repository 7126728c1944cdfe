import { describe, expect, it } from 'vitest';
import { AgentHttpError, errorOf, sseEvents } from '../src/lib/agent-http';
import { isUnauthorized } from '../src/lib/api';

const streamOf = (chunks: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
      controller.close();
    },
  });

async function collect(chunks: string[]) {
  const events = [];
  for await (const event of sseEvents(streamOf(chunks))) events.push(event);
  return events;
}

describe("Letta's event stream, as the browser reads it", () => {
  it('yields each data payload once whole, however the bytes were split', async () => {
    expect(
      await collect([
        'data: {"message_type":"assistant_message","content":"Hel',
        'lo"}\r',
        '\n\r\ndata: {"message_type":"stop_reason"}\n\n',
        ': a comment\n\ndata: [DONE]\n\n',
      ]),
    ).toEqual([
      { data: '{"message_type":"assistant_message","content":"Hello"}', error: false },
      { data: '{"message_type":"stop_reason"}', error: false },
      { data: '[DONE]', error: false },
    ]);
  });

  it('keeps a CRLF split between two chunks one line end, not two', async () => {
    expect(await collect(['data: one\r', '\ndata: two\r\n\r\n'])).toEqual([
      { data: 'one\ntwo', error: false },
    ]);
  });

  it('marks the event named error, which carries a failure mid-stream', async () => {
    expect(await collect(['event: error\ndata: {"message":"boom"}\n\n'])).toEqual([
      { data: '{"message":"boom"}', error: true },
    ]);
  });
});

describe("the agent host's refusals", () => {
  it("carry the status and the body's message; a 401 re-mints the token", async () => {
    const refused = await errorOf(
      new Response(JSON.stringify({ error: 'Unauthorized', message: 'Invalid API Key' }), {
        status: 401,
      }),
    );
    expect(refused).toBeInstanceOf(AgentHttpError);
    expect(refused.message).toBe('Invalid API Key');
    expect(isUnauthorized(refused)).toBe(true);
    const failed = await errorOf(new Response('<html>', { status: 502 }));
    expect(failed.message).toBe('The agent host answered 502');
    expect(isUnauthorized(failed)).toBe(false);
  });
});
