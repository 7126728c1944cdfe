import { tracked } from '@trpc/server';
import { sseStreamProducer } from '@trpc/server/unstable-core-do-not-import';
import { describe, expect, it } from 'vitest';
import { InProcessBus } from '../src/events/in-process-bus.js';
import {
  CONNECTED_FRAME,
  dataFrame,
  errorFrame,
  PING_FRAME,
  RETURN_FRAME,
} from '../src/http/event-stream-frames.js';

/** What tRPC's own SSE producer writes for `values` (no pings), as text. */
async function trpcWrites(values: unknown[], fail?: unknown): Promise<string> {
  const stream = sseStreamProducer({
    data: (async function* () {
      yield* values;
      if (fail) throw new Error('failed');
    })(),
    formatError: () => fail,
  });
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  return text;
}

describe('event stream frames', () => {
  it("are tRPC's SSE wire format, byte for byte: connected, tracked, untracked, return", async () => {
    const first = { type: 'message', text: 'héllo\nthere' };
    const second = { type: 'note' };
    const ours = Buffer.concat([
      CONNECTED_FRAME,
      dataFrame(tracked('42', first), null),
      dataFrame(second, '42'),
      RETURN_FRAME,
    ]).toString();
    expect(ours).toBe(await trpcWrites([tracked('42', first), second]));
  });

  it("end with a failure as tRPC's serialized-error event", async () => {
    const shape = { message: 'The token has expired', code: -32001, data: { httpStatus: 401 } };
    const ours = Buffer.concat([CONNECTED_FRAME, errorFrame(shape)]).toString();
    expect(ours).toBe(await trpcWrites([], shape));
  });

  it('ping as tRPC pings', () => {
    expect(PING_FRAME.toString()).toBe('event: ping\ndata: \n\n\n');
  });

  it('serialize an event every subscriber shares once: the same bytes for each stream', () => {
    const event = { type: 'delta', text: 'a piece' };
    // Each stream wraps the event in its own envelope; the frame is made once.
    const frames = Array.from({ length: 3 }, () => dataFrame(tracked('7:run:1', event), null));
    expect(frames[1]).toBe(frames[0]);
    expect(frames[2]).toBe(frames[0]);
    expect(frames[0]?.toString()).toBe(`data: ${JSON.stringify(event)}\nid: 7:run:1\n\n\n`);
    // Another event with the same content is its own frame, not a stale one.
    expect(dataFrame(tracked('8', { ...event }), null).toString()).toContain('id: 8\n');
  });
});

describe('the in-process bus', () => {
  it('hands every subscriber of a channel the same event, parsed once', async () => {
    const bus = new InProcessBus();
    const seen: unknown[] = [];
    for (let i = 0; i < 3; i++) await bus.subscribe('conversation:a', (p) => seen.push(p));
    await bus.publish('conversation:a', { type: 'stop', runId: 'r' });
    expect(seen).toHaveLength(3);
    expect(seen[1]).toBe(seen[0]);
    expect(seen[2]).toBe(seen[0]);
    expect(seen[0]).toEqual({ type: 'stop', runId: 'r' });
  });
});
