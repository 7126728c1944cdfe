/** What the soak's clients saw, counted as they go; every request goes through `call`. */
export const ORIGIN = 'http://localhost:5173';
/** A request the server has not answered by then counts as a failure, not a wait. */
export const REQUEST_TIMEOUT_MS = 10_000;

export const stats = {
  served: 0,
  timeouts: [] as string[],
  byStatus: new Map<number, number>(),
  fiveHundreds: [] as string[],
  acceptedAfterRevocation: 0,
  /** Answers other than the ones the request can rightly get, described. */
  unexpected: [] as string[],
  /** Probes of a revoked token answered with anything but 401. */
  revokedNotRefused: [] as string[],
  revocations: 0,
  mints: 0,
  sends: 0,
};
/** When each revoked token's revocation was acknowledged (its DELETE answered 204). */
export const revokedAt = new Map<string, number>();

export async function call(
  base: string,
  method: string,
  path: string,
  credential: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const started = performance.now();
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${credential}`,
        origin: ORIGIN,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    text = await response.text();
  } catch (error) {
    if (!(error instanceof DOMException && error.name === 'TimeoutError')) throw error;
    stats.timeouts.push(`${method} ${path.slice(0, 40)} unanswered after ${REQUEST_TIMEOUT_MS} ms`);
    return { status: 0, json: null };
  }
  stats.served++;
  stats.byStatus.set(response.status, (stats.byStatus.get(response.status) ?? 0) + 1);
  if (response.status >= 500)
    stats.fiveHundreds.push(
      `${method} ${path.slice(0, 40)} → ${response.status} ${text.slice(0, 120)}`,
    );
  const acked = revokedAt.get(credential);
  if (acked !== undefined && started > acked && response.status < 400)
    stats.acceptedAfterRevocation++;
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

/**
 * Counts an answer outside `allowed` as a failure (a 5xx is already one; a timeout, status
 * 0, is counted as unanswered). Says whether the answer was one of `allowed`.
 */
export function expectStatus(
  what: string,
  answer: { status: number; json: unknown },
  allowed: number[],
): boolean {
  if (allowed.includes(answer.status)) return true;
  if (answer.status !== 0 && answer.status < 500)
    stats.unexpected.push(
      `${what} → ${answer.status} ${JSON.stringify(answer.json).slice(0, 120)}`,
    );
  return false;
}
