import type { SessionCookieWriter } from '../../src/trpc/context.js';

/** What a browser would keep of the session cookie, for tests that call routers directly. */
export class SessionJar implements SessionCookieWriter {
  sessionId: string | undefined;
  expiresAt: Date | undefined;
  set(sessionId: string, expiresAt: Date) {
    this.sessionId = sessionId;
    this.expiresAt = expiresAt;
  }
  clear() {
    this.sessionId = undefined;
    this.expiresAt = undefined;
  }
}
