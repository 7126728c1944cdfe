/**
 * Errors are values with a code and a human message; only the edges (REST and tRPC) turn
 * them into status codes. `field` names the input at fault, for 4xx bodies.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_REQUESTS'
  | 'BAD_GATEWAY'
  | 'SERVICE_UNAVAILABLE';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_REQUESTS: 429,
  /** An upstream this server depends on (Letta, as the agent host) failed or refused it. */
  BAD_GATEWAY: 502,
  SERVICE_UNAVAILABLE: 503,
};

export class AppError extends Error {
  override readonly name = 'AppError';
  /**
   * False when sending the request again would repeat what it already did or meet the same
   * refusal (a message already stored, an agent busy for minutes): the edge then tells the
   * Letta SDK not to retry, which it otherwise does for 409 and 5xx.
   */
  readonly shouldRetry: boolean;
  /**
   * What failed upstream, for the log (never an upstream body or secret): set when this
   * server's answer is an upstream's failure (Letta as the agent host).
   */
  readonly upstream: string | undefined;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    options: { shouldRetry?: boolean; upstream?: string } = {},
  ) {
    super(field ? `${field}: ${message}` : message);
    this.shouldRetry = options.shouldRetry ?? true;
    this.upstream = options.upstream;
  }
}

export const badRequest = (message: string, field?: string) =>
  new AppError('BAD_REQUEST', message, field);
export const unauthorized = (message: string) => new AppError('UNAUTHORIZED', message);
export const forbidden = (message: string) => new AppError('FORBIDDEN', message);
/** A call that needs a log-in session, made without one that is still live. */
export const sessionEnded = () =>
  unauthorized('Not logged in, or the session has ended; log in again');
export const notFound = (message: string) => new AppError('NOT_FOUND', message);

/** A refusal that passes with time: the edges send its wait as `Retry-After`. */
export class RetryLaterError extends AppError {
  constructor(
    code: 'TOO_MANY_REQUESTS' | 'SERVICE_UNAVAILABLE',
    message: string,
    readonly retryAfterSeconds: number,
    options: { upstream?: string } = {},
  ) {
    super(code, message, undefined, options);
  }
}

export class RateLimitedError extends RetryLaterError {
  constructor(message: string, retryAfterSeconds: number, options: { upstream?: string } = {}) {
    super('TOO_MANY_REQUESTS', message, retryAfterSeconds, options);
  }
}
