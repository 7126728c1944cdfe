import { type FastifyTRPCPluginOptions, fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import { z } from 'zod';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/http/app.js';
import { openRuntime } from '../src/runtime.js';
import { createContextFromHeaders } from '../src/trpc/context.js';
import { agentProcedure, publicProcedure, router } from '../src/trpc/trpc.js';
import { settledMemory } from './settled-memory.js';

/**
 * One server instance for the benchmark, in its own process as in production: the real
 * app from `buildApp` on a runtime opened from the environment, plus two procedures under
 * `/bench` that do the same work (validate `{ agentId }`, answer a constant) — one through
 * the real `agentProcedure` (bearer check, origin, rate limit, policy), one with no
 * credential at all. Their throughput ratio is what authentication costs.
 */
const benchRouter = router({
  open: publicProcedure
    .input(z.object({ agentId: z.string().min(1).max(200) }))
    .query(() => ({ ok: true })),
  authed: agentProcedure('read_agent').query(() => ({ ok: true })),
});

const runtime = await openRuntime(loadConfig());
const app = await buildApp({ deps: runtime.deps, logLevel: process.env.SCOPEKIT_LOG_LEVEL });
await app.register(fastifyTRPCPlugin, {
  prefix: '/bench',
  trpcOptions: {
    router: benchRouter,
    createContext: ({ req }) => createContextFromHeaders(runtime.deps, req.headers),
  } satisfies FastifyTRPCPluginOptions<typeof benchRouter>['trpcOptions'],
});
const address = await app.listen({ host: '127.0.0.1', port: 0 });

process.on('message', async (message) => {
  if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  if (message === 'memory') process.send?.({ memory: await settledMemory() });
});
process.once('disconnect', async () => {
  await app.close();
  await runtime.close();
  process.exit(0);
});
process.send?.({ url: address });
