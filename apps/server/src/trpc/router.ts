import { agentsRouter } from './routers/agents.js';
import { messagesRouter } from './routers/messages.js';
import { tokensRouter } from './routers/tokens.js';
import { publicProcedure, router } from './trpc.js';

export const appRouter = router({
  health: publicProcedure.query(() => ({ status: 'ok' as const })),
  agents: agentsRouter,
  messages: messagesRouter,
  tokens: tokensRouter,
});

export type AppRouter = typeof appRouter;
