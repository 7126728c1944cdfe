import { Agent, request } from 'node:http';

/**
 * The load generator of the refusal-point step, in its own process: opens event streams a
 * batch at a time until the server refuses one. A tRPC subscription answers 200 and
 * `connected` before its procedure's first event, so a refusal is the `serialized-error`
 * event that follows at once (the HTTP status it stands for and the error's data); a held
 * stream sends nothing more until a message or a ping. Reports how many were held when the
 * first refusal came, and the refusals.
 */
interface Order {
  url: string;
  headers: Record<string, string>;
  max: number;
  batch: number;
  openWithinMs: number;
}
export interface Refusal {
  httpStatus?: number;
  retryAfterSeconds?: number;
  message?: string;
}
export interface RefusalReport {
  held: number;
  refusals: Refusal[];
  failures: number;
  firstFailure?: string;
  openMs: number;
}
const order = JSON.parse(process.argv[2] ?? '{}') as Order;
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
const requests: ReturnType<typeof request>[] = [];
const refusals: Refusal[] = [];
const failures: string[] = [];
let held = 0;

function openOne(): Promise<void> {
  return new Promise((resolve) => {
    const req = request(order.url, { agent, headers: order.headers }, (res) => {
      if (res.statusCode !== 200) {
        failures.push(`status ${res.statusCode}`);
        res.resume();
        return resolve();
      }
      let text = '';
      let connected = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        const error = /event: serialized-error\ndata: (.*)\n/.exec(text)?.[1];
        if (error) {
          if (connected) held--;
          const { message, data } = JSON.parse(error) as { message?: string; data?: Refusal };
          refusals.push({ ...data, message });
          req.destroy();
          resolve();
        } else if (!connected && text.includes('event: connected')) {
          connected = true;
          held++;
          resolve();
        }
        // Only the first events matter: a held stream's pings are not kept.
        if (connected && text.length > 4096) text = '';
      });
      res.on('error', () => {});
      res.on('end', () => {
        if (!connected)
          failures.push(`a stream ended before its first event: ${text.slice(0, 200)}`);
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

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const started = performance.now();
for (let opened = 0; opened < order.max && refusals.length === 0; opened += order.batch) {
  if (performance.now() - started > order.openWithinMs || failures.length > 0) break;
  await Promise.all(Array.from({ length: Math.min(order.batch, order.max - opened) }, openOne));
  // A refusal follows its `connected` at once: let the batch's arrive before the next batch.
  await settle(100);
}
await settle(1_000);
const report: RefusalReport = {
  held,
  refusals,
  failures: failures.length,
  firstFailure: failures[0],
  openMs: performance.now() - started,
};
process.send?.({ report });
process.on('message', (message) => {
  if (message === 'close') {
    for (const req of requests) req.destroy();
    process.exit(0);
  }
});
