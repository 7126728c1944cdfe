import { Agent, request } from 'node:http';

/**
 * The clients of the streamed-reply step, in their own process: starts every turn of the
 * order at once (a POST each, answered with an SSE stream), and times every piece of every
 * reply from the send time the model wrote into it (`@<ms since the epoch>#`, on the clock
 * all processes share) to its arrival here. Also the gaps between consecutive pieces' send
 * times: the model's own pace as it kept it. Told what to do over IPC: `{ order }`, `close`.
 */
export interface ReplyOrder {
  turns: { url: string; headers: Record<string, string>; body: string }[];
  withinMs: number;
}
export interface ReplyReport {
  added: number[];
  gaps: number[];
  completed: number;
  failures: number;
  firstFailure?: string;
}

const MARK = /@(\d+(?:\.\d+)?)#/g;
const now = () => performance.timeOrigin + performance.now();
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
const requests: ReturnType<typeof request>[] = [];
const added: number[] = [];
const gaps: number[] = [];
const failures: string[] = [];
let completed = 0;

function turn(t: ReplyOrder['turns'][number]): Promise<void> {
  return new Promise((resolve) => {
    const req = request(
      t.url,
      { method: 'POST', agent, headers: { ...t.headers, 'content-type': 'application/json' } },
      (res) => {
        if (res.statusCode !== 200) {
          failures.push(`status ${res.statusCode}`);
          res.resume();
          return resolve();
        }
        let buffer = '';
        let last: number | undefined;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const at = now();
          buffer += chunk;
          const end = buffer.lastIndexOf('\n\n');
          if (end === -1) return;
          const events = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (events.includes('error_message')) failures.push(events.slice(0, 300));
          for (const [, sentAt] of events.matchAll(MARK)) {
            const sent = Number(sentAt);
            added.push(at - sent);
            if (last !== undefined) gaps.push(sent - last);
            last = sent;
          }
        });
        res.on('error', () => {});
        res.on('end', () => {
          completed++;
          resolve();
        });
      },
    );
    req.on('error', (error) => {
      failures.push(error.message);
      resolve();
    });
    req.end(t.body);
    requests.push(req);
  });
}

process.on('message', async (message: unknown) => {
  const m = message as { order?: ReplyOrder; close?: true };
  if (m.order) {
    const { withinMs } = m.order;
    await Promise.race([
      Promise.all(m.order.turns.map(turn)),
      new Promise((resolve) => setTimeout(resolve, withinMs)),
    ]);
    const report: ReplyReport = {
      added,
      gaps,
      completed,
      failures: failures.length,
      firstFailure: failures[0],
    };
    process.send?.({ report });
  }
  if (m.close) {
    for (const req of requests) req.destroy();
    process.exit(0);
  }
});
