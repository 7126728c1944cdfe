import { isTrackedEnvelope } from '@trpc/server';

/**
 * tRPC's SSE wire format (its `sseStreamProducer`, which `httpSubscriptionLink` parses),
 * byte for byte: each field on its own line, then a blank line and one more newline. The
 * lean subscription path writes these frames to the socket itself.
 */
const frame = (fields: [name: string, value: string][]) =>
  Buffer.from(`${fields.map(([name, value]) => `${name}: ${value}\n`).join('')}\n\n`);

/** The first frame of every stream: the client hears it is connected (no client options). */
export const CONNECTED_FRAME = frame([
  ['event', 'connected'],
  ['data', '{}'],
]);
/** Keeps proxies from cutting a quiet stream; the client ignores it. */
export const PING_FRAME = frame([
  ['event', 'ping'],
  ['data', ''],
]);
/** A stream whose procedure finished: the client stops, without reconnecting. */
export const RETURN_FRAME = frame([
  ['event', 'return'],
  ['data', ''],
]);

/** A failure, in the shape tRPC's error formatter gives it (code, message, data.httpStatus…). */
export function errorFrame(shape: unknown): Buffer {
  return frame([
    ['event', 'serialized-error'],
    ['data', JSON.stringify(shape)],
  ]);
}

/**
 * Frames already made, by the event they carry. A live event reaches every subscriber of
 * its conversation as one object (the bus parses a notice once per instance), so its frame
 * is serialized once and the same bytes are written to every socket; replayed events are
 * each stream's own and leave with it.
 */
const made = new WeakMap<object, { id: string | undefined; bytes: Buffer }>();

/**
 * The frame of one value a subscription yielded: a tracked one (`tracked(id, data)`) carries
 * its id, which the browser's EventSource sends back on reconnect. An untracked value after a
 * tracked one clears the id for itself and restores it after, as tRPC does, so a reconnect
 * still resumes from the last tracked event; `lastEventId` is that id.
 */
export function dataFrame(value: unknown, lastEventId: string | null): Buffer {
  const [id, data] = isTrackedEnvelope(value) ? [value[0], value[1]] : [undefined, value];
  const cacheable = typeof data === 'object' && data !== null;
  if (cacheable) {
    const cached = made.get(data);
    if (cached && cached.id === id) return cached.bytes;
  }
  const json = JSON.stringify(data);
  let bytes: Buffer;
  if (id !== undefined)
    bytes = frame([
      ['data', json],
      ['id', id],
    ]);
  else if (lastEventId === null) bytes = frame([['data', json]]);
  else {
    return Buffer.concat([
      frame([
        ['data', json],
        ['id', ''],
      ]),
      frame([
        ['event', 'restore-id'],
        ['data', ''],
        ['id', lastEventId],
      ]),
    ]);
  }
  if (cacheable) made.set(data, { id, bytes });
  return bytes;
}
