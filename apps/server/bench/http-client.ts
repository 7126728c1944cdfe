import { Agent, request } from 'node:http';

/**
 * The bench's own HTTP calls (sends, listings), over node:http with kept-alive connections.
 * `fetch` (undici) costs far more a call, and that cost sat inside the rows: the listing's
 * p99 read 12.9–15.2 ms through `fetch` and 8.0–8.2 ms through this, same server, same
 * machine. The client is not what a row measures, so it should be the cheapest there is.
 */
const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

export interface BenchResponse {
  status: number;
  body: string;
}

export function call(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    signal?: AbortSignal | undefined;
  } = {},
): Promise<BenchResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent, signal: options.signal },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
