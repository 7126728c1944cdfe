/**
 * The driver's code (SQLSTATE or socket error) under Drizzle's wrapper: it names the fault
 * without the statement or its parameters, which hold token ids and client addresses.
 */
export function errorCode(error: unknown): string {
  for (let current = error; current && typeof current === 'object'; ) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.name : 'unknown error';
}
