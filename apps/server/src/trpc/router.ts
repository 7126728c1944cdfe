import { adminRouter } from './routers/admin.js';
import { agentsRouter } from './routers/agents.js';
import { messagesRouter } from './routers/messages.js';
import { sessionRouter } from './routers/session.js';
import { tokensRouter } from './routers/tokens.js';
import { publicProcedure, router } from './trpc.js';

export const appRouter = router({
  health: publicProcedure.query(() => ({ status: 'ok' as const })),
  agents: agentsRouter,
  messages: messagesRouter,
  tokens: tokensRouter,
  session: sessionRouter,
  admin: adminRouter,
});

export type AppRouter = typeof appRouter;
