import { expiresAtSchema, hostnameSchema, policyEntriesSchema } from '@scopekit/policy';
import { z } from 'zod';
import { clientTokenPageSchema, listClientTokens } from '../../tokens/client-token-listing.js';
import { revokeClientTokenById } from '../../tokens/client-token-revocation.js';
import { mintClientToken } from '../../tokens/client-tokens.js';
import { apiKeyProcedure, router } from '../trpc.js';

export const tokensRouter = router({
  create: apiKeyProcedure
    .input(
      // REST's pieces, so both edges refuse the same input in the same words.
      z.strictObject({
        hostname: hostnameSchema,
        policy: policyEntriesSchema,
        expiresAt: z.optional(expiresAtSchema),
      }),
    )
    .mutation(({ ctx, input }) =>
      mintClientToken(ctx.deps, {
        organizationId: ctx.principal.organizationId,
        issuer: { kind: 'apiKey', apiKeyId: ctx.principal.apiKeyId },
        ...input,
        expiryField: 'expiresAt',
      }),
    ),

  list: apiKeyProcedure
    .input(
      clientTokenPageSchema
        .extend({
          limit: clientTokenPageSchema.shape.limit.default(10),
          offset: clientTokenPageSchema.shape.offset.default(0),
        })
        .default({ limit: 10, offset: 0 }),
    )
    .query(({ ctx, input }) =>
      listClientTokens(ctx.deps, {
        organizationId: ctx.principal.organizationId,
        ...input,
        log: ctx.log,
      }),
    ),

  revoke: apiKeyProcedure
    .input(z.strictObject({ id: z.string().min(1).max(200) }))
    .mutation(({ ctx, input }) =>
      revokeClientTokenById(ctx.deps, {
        organizationId: ctx.principal.organizationId,
        id: input.id,
      }),
    ),
});
