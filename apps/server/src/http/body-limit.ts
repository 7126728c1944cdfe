/**
 * The largest request body to read: enough for a message of the configured size however
 * JSON escapes it (at worst six bytes per byte, `\u0001`), with room for the rest of the
 * body. The size check that answers with a useful message is the service's own; Fastify's
 * limit only has to stay out of its way, and never drop below Fastify's usual 1 MiB.
 */
export function bodyLimitFor(messageMaxBytes: number): number {
  return Math.max(1024 * 1024, 6 * messageMaxBytes + 64 * 1024);
}
