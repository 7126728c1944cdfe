import { Agent, request } from 'node:http';

/**
 * The subscribers of the fan-out steps, in their own process so that parsing thousands of
 * streams is not the server's CPU (nor the sender's): opens `count` SSE streams over
 * `targets` (subscriber i on target i mod their number), a batch at a time, and times each
 * copy of a user message from the send time its content carries (`@<ms since the epoch>#`,
 * on the clock every process shares) to its arrival. Works the same on the stack's tRPC
 * streams and the bare server's; counts the turn ends (`stop` events) too, so a sender can
 * wait until a reply has finished streaming before it sends again. Told what to do over IPC
 * (the order is too large for an argument): `{ order }`, then `{ waitFor }`, `report`, `close`.
 */
export interface FanOutOrder {
  targets: { url: string; headers: Record<string, string> }[];
  count: number;
  openWithinMs: number;
}
export interface FanOutCounts {
  open: number;
  failures: number;
  firstFailure?: string;
  openMs: number;
  delivered: number;
  stops: number;
}

const now = () => performance.timeOrigin + performance.now();
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
const requests: ReturnType<typeof request>[] = [];
const failures: string[] = [];
const samples: number[] = [];
const counts = { open: 0, delivered: 0, stops: 0, openMs: 0 };
let waiting: { delivered: number; stops: number } | undefined;

const MARK = /@(\d+(?:\.\d+)?)#/;

function onEvent(event: string, at: number) {
  if (event.includes('"user_message"')) {
    const sentAt = MARK.exec(event)?.[1];
    if (sentAt) {
      samples.push(at - Number(sentAt));
      counts.delivered++;
    }
  } else if (event.includes('"type":"stop"')) {
    counts.stops++;
  }
  if (waiting && counts.delivered >= waiting.delivered && counts.stops >= waiting.stops) {
    waiting = undefined;
    process.send?.({ reached: countsNow() });
  }
}

function openOne(target: FanOutOrder['targets'][number]): Promise<void> {
  return new Promise((resolve) => {
    const req = request(target.url, { agent, headers: target.headers }, (res) => {
      if (res.statusCode !== 200) {
        failures.push(`status ${res.statusCode}`);
        res.resume();
        return resolve();
      }
      let buffer = '';
      let connected = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const at = now();
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          // The stack's streams are held from tRPC's `connected`; the bare one's at once.
          if (!connected && (event.includes('event: connected') || event.startsWith(': open'))) {
            connected = true;
            counts.open++;
            resolve();
          } else if (event.includes('event: serialized-error')) {
            failures.push(event.slice(0, 300));
          } else {
            onEvent(event, at);
          }
          end = buffer.indexOf('\n\n');
        }
      });
      res.on('error', () => {});
      res.on('end', () => {
        if (!connected) failures.push('a stream ended before it opened');
        resolve();
      });
    });
    req.on('error', (error) => {
      failures.push(error.message);
      resolve();
    });
    req.end();
    requests.push(req);
  });
}

const countsNow = (): FanOutCounts => ({
  ...counts,
  failures: failures.length,
  firstFailure: failures[0],
});

async function open(order: FanOutOrder) {
  const started = performance.now();
  for (let i = 0; i < order.count; i += 200) {
    if (performance.now() - started > order.openWithinMs) break;
    const batch = Array.from({ length: Math.min(200, order.count - i) }, (_, j) =>
      openOne(order.targets[(i + j) % order.targets.length] as FanOutOrder['targets'][number]),
    );
    await Promise.all(batch);
  }
  counts.openMs = performance.now() - started;
  process.send?.({ opened: countsNow() });
}

process.on('message', (message: unknown) => {
  const m = message as {
    order?: FanOutOrder;
    waitFor?: { delivered: number; stops: number };
    report?: true;
    close?: true;
  };
  if (m.order) void open(m.order);
  if (m.waitFor) {
    waiting = m.waitFor;
    onEvent('', now());
  }
  if (m.report) process.send?.({ samples, counts: countsNow() });
  if (m.close) {
    for (const req of requests) req.destroy();
    process.exit(0);
  }
});
