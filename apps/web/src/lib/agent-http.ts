/**
 * A refusal or failure from an agent host spoken to over plain HTTP (Letta's REST API), with
 * its status: `isUnauthorized` (api.ts) treats a 401 here as it does tRPC's, so the token
 * store mints a new token and the call is made again.
 */
export class AgentHttpError extends Error {
  override readonly name = 'AgentHttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The error a failed response stands for; its body's `message` (or `detail`) when it has one. */
export async function errorOf(response: Response): Promise<AgentHttpError> {
  let message = `The agent host answered ${response.status}`;
  try {
    const body = (await response.json()) as { message?: unknown; detail?: unknown };
    const said = typeof body.message === 'string' ? body.message : body.detail;
    if (typeof said === 'string' && said) message = said;
  } catch {
    // Not JSON: the status says enough.
  }
  return new AgentHttpError(response.status, message);
}

/**
 * The `data:` payloads of a server-sent event stream, one per event, as they arrive; an
 * event named `error` is yielded with `error: true`. Letta's stream ends with `[DONE]`.
 */
export async function* sseEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<{ data: string; error: boolean }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    // Lines may end in CRLF or CR; a CR ending this chunk waits to see if an LF follows.
    buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n|\r(?!$)/g, '\n');
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) yield { data: data.join('\n'), error: event === 'error' };
    }
  }
}
