import { z } from 'zod';
import {
  createSession,
  endSession,
  endSessionsOf,
  mintSessionToken,
  pickWebOrigin,
  resolveSession,
} from '../../accounts/sessions.js';
import { authenticateUser, parseSignUp, signUp, type UserView } from '../../accounts/users.js';
import { updateAgent } from '../../agents/agent-write.js';
import {
  enforceSessionTokenLimit,
  enforceSignUpLimit,
  withLoginLimits,
} from '../../auth/rate-limit.js';
import { forbidden } from '../../errors.js';
import { renameLettaAgent } from '../../letta-host/letta-agents.js';
import { mintLettaSessionToken } from '../../letta-host/letta-tokens.js';
import type { Context } from '../context.js';
import { router, sessionProcedure, webProcedure } from '../trpc.js';

/**
 * A new log-in gets a new session id, and the one the browser brought (another user's, or
 * one planted to be taken over once its victim logs in) ends with the tokens it minted.
 */
async function rotateSession(ctx: Context, userId: string) {
  if (ctx.sessionId) await endSession(ctx.deps, { sessionId: ctx.sessionId });
  const session = await createSession(ctx.deps, { userId });
  ctx.sessionCookie.set(session.sessionId, session.expiresAt);
}

const credentials = z.strictObject({
  username: z.string().max(200),
  password: z.string().max(1000),
});

/** What the browser may know about its user. */
const publicUser = (user: UserView) => ({
  id: user.id,
  username: user.username,
  role: user.role,
  agentId: user.agentId,
});

export const sessionRouter = router({
  signUp: webProcedure.input(credentials).mutation(async ({ ctx, input }) => {
    if (ctx.deps.accounts.signUp === 'closed')
      throw forbidden('Sign-up is closed on this server: ask its administrator for an account');
    // Bad input is refused before it spends any of the address's sign-ups.
    const checked = parseSignUp(input);
    enforceSignUpLimit(ctx.deps, ctx.clientAddress);
    const user = await signUp(ctx.deps, checked);
    await rotateSession(ctx, user.id);
    return { user: publicUser(user) };
  }),

  logIn: webProcedure.input(credentials).mutation(async ({ ctx, input }) => {
    const user = await withLoginLimits(
      ctx.deps,
      { clientAddress: ctx.clientAddress, username: input.username },
      () => authenticateUser(ctx.deps, input),
    );
    await rotateSession(ctx, user.id);
    return { user: publicUser(user) };
  }),

  /** Ends the session and revokes the tokens it minted; harmless when not logged in. */
  logOut: webProcedure.mutation(async ({ ctx }) => {
    if (ctx.sessionId) await endSession(ctx.deps, { sessionId: ctx.sessionId });
    ctx.sessionCookie.clear();
    return { ok: true as const };
  }),

  /** Ends every session of the user (other browsers, lost devices) and their tokens. */
  logOutEverywhere: sessionProcedure.mutation(async ({ ctx }) => {
    await endSessionsOf(ctx.deps, { userId: ctx.session.user.id });
    ctx.sessionCookie.clear();
    return { ok: true as const };
  }),

  /** Null when not logged in: the web app asks this on load to pick its first page. */
  me: webProcedure.query(async ({ ctx }) => {
    if (!ctx.sessionId) return null;
    const session = await resolveSession(ctx.deps, { sessionId: ctx.sessionId });
    return session ? publicUser(session.user) : null;
  }),

  /**
   * A short-lived `ck-let-` token for the user's own agent, bound to the web origin. A
   * mutation: it creates something, and a GET could be fetched by an <img> on another page.
   */
  token: sessionProcedure.mutation(async ({ ctx }) => {
    enforceSessionTokenLimit(ctx.deps, ctx.session.user.id);
    const { lettaHost } = ctx.deps;
    const minted = lettaHost
      ? await mintLettaSessionToken(ctx.deps, lettaHost, {
          session: ctx.session,
          hostname: pickWebOrigin(ctx.deps.accounts.webOrigins, ctx.origin),
        })
      : await mintSessionToken(ctx.deps, { session: ctx.session, origin: ctx.origin });
    return {
      token: minted.token,
      expiresIn: minted.expiresIn,
      agentId: minted.agentId,
      // Which API to speak with it: scopekit's own (tRPC), or Letta's REST API.
      agentHost: lettaHost ? ('letta' as const) : ('scopekit' as const),
      // Where to spend it: a split deployment serves the agent API from another origin.
      agentApiUrl: ctx.deps.accounts.agentApiUrl,
    };
  }),

  /**
   * Renames the user's own agent. A session procedure, not `agents.update`: the browser's
   * token lacks `write_agent` (SESSION_ACCESS), and the agent comes from the session, never
   * from the input, so no one can rename another person's agent. `updateAgent` checks the name.
   */
  renameAgent: sessionProcedure
    .input(z.strictObject({ name: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const { organizationId, agentId } = ctx.session.user;
      const { lettaHost } = ctx.deps;
      if (lettaHost) return renameLettaAgent(lettaHost, { agentId, name: input.name });
      const agent = await updateAgent(ctx.deps, { organizationId, agentId, name: input.name });
      return { agentId: agent.id, name: agent.name };
    }),
});
