import { z } from 'zod';
import { listUsers } from '../../accounts/users.js';
import { listLettaTokenSummaries, revokeLettaTokenById } from '../../letta-host/letta-tokens.js';
import {
  clientTokenPageSchema,
  listClientTokenSummaries,
} from '../../tokens/client-token-listing.js';
import { revokeClientTokenById } from '../../tokens/client-token-revocation.js';
import { adminProcedure, router } from '../trpc.js';

/**
 * The organization's administrator, by session. Token values are never shown here: the
 * admin sees each token's hint, which is enough to tell them apart and to revoke one.
 */
export const adminRouter = router({
  users: router({
    list: adminProcedure.query(async ({ ctx }) =>
      (await listUsers(ctx.deps, { organizationId: ctx.session.user.organizationId })).map((u) => ({
        id: u.id,
        username: u.username,
        role: u.role,
        agentId: u.agentId,
      })),
    ),
  }),
  tokens: router({
    list: adminProcedure
      .input(
        clientTokenPageSchema
          .extend({
            limit: clientTokenPageSchema.shape.limit.default(20),
            offset: clientTokenPageSchema.shape.offset.default(0),
          })
          .default({ limit: 20, offset: 0 }),
      )
      .query(({ ctx, input }) => {
        const args = { organizationId: ctx.session.user.organizationId, ...input };
        const { lettaHost } = ctx.deps;
        // Under Letta: the tokens recorded here, joined with what Letta reports.
        if (lettaHost) return listLettaTokenSummaries(ctx.deps, lettaHost, args);
        return listClientTokenSummaries(ctx.deps, args);
      }),
    revoke: adminProcedure
      .input(z.strictObject({ id: z.string().min(1).max(200) }))
      .mutation(({ ctx, input }) => {
        const args = { organizationId: ctx.session.user.organizationId, id: input.id };
        const { lettaHost } = ctx.deps;
        if (lettaHost) return revokeLettaTokenById(ctx.deps, lettaHost, args);
        return revokeClientTokenById(ctx.deps, args);
      }),
  }),
});
