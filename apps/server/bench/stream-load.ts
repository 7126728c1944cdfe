import { Agent, request } from 'node:http';

/**
 * The load generator of the 10,000-stream step, in its own process so its sockets and
 * parsing are not the server's: opens `count` event streams (200 opening at any time, as
 * people arrive), counts those whose headers came back 200 and those that have seen a
 * heartbeat (tRPC's `ping` event) since, and closes them all when told.
 */
interface Order {
  url: string;
  headers: Record<string, string>;
  count: number;
  openWithinMs: number;
}
const order = JSON.parse(process.argv[2] ?? '{}') as Order;
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
const requests: ReturnType<typeof request>[] = [];
let open = 0;
const failures: string[] = [];
let pinged = 0;

function openOne(): Promise<void> {
  return new Promise((resolve) => {
    const req = request(order.url, { agent, headers: order.headers }, (res) => {
      if (res.statusCode !== 200) {
        failures.push(`status ${res.statusCode}`);
        res.resume();
        return resolve();
      }
      open++;
      let seenPing = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (!seenPing && chunk.includes('event: ping')) {
          seenPing = true;
          pinged++;
        }
      });
      res.on('error', () => {});
      resolve();
    });
    req.on('error', (error) => {
      failures.push(error.message);
      resolve();
    });
    req.end();
    requests.push(req);
  });
}

const started = performance.now();
// 200 opening at a time, each finished one making room for the next (a slow answer holds up
// only its own place, not a batch of 200), until all are open or the time bound passes.
let next = 0;
async function opener() {
  while (next < order.count && performance.now() - started <= order.openWithinMs) {
    next++;
    await openOne();
  }
}
await Promise.all(Array.from({ length: Math.min(200, order.count) }, opener));
const openMs = performance.now() - started;
const report = () =>
  process.send?.({ open, pinged, failures: failures.length, firstFailure: failures[0], openMs });
report();
process.on('message', (message) => {
  if (message === 'report') report();
  if (message === 'close') {
    for (const req of requests) req.destroy();
    process.exit(0);
  }
});
