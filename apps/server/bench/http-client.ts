import { Agent, request } from 'node:http';

/**
 * The bench's own HTTP calls (sends, listings), over node:http with kept-alive connections.
 * `fetch` (undici) cost the bench process about 1.1 cores at 1,000 sends a second, which
 * made the sender, not the server under test, the bottleneck of a fan-out baseline; the
 * client is not what a row measures, so it should be the cheapest there is.
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
