import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  listEmbeddingModels,
  listModels,
  modelListSchema,
  providerCategoriesSchema,
} from '../../agent-runtime/model-list.js';
import { requireApiKey } from '../../auth/authorize.js';
import type { ServiceDeps } from '../../deps.js';
import { parseInput } from '../../lib/parse-input.js';
import { authenticate, queryList } from './authenticate.js';

const listQuery = modelListSchema.extend({
  provider_category: queryList.pipe(providerCategoriesSchema).optional(),
});

/**
 * Letta's model lists, for a backend's agent-creation form. Which model an agent runs is the
 * operator's to pick (a client-side token cannot set it), so listing them is too.
 */
export function registerModelRoutes(app: FastifyInstance, deps: ServiceDeps) {
  app.get('/v1/models', async (request) => {
    requireApiKey(await authenticate(deps, request));
    return listModels(deps, parseInput(listQuery, request.query));
  });

  app.get('/v1/models/embedding', async (request) => {
    requireApiKey(await authenticate(deps, request));
    parseInput(z.strictObject({}), request.query);
    return listEmbeddingModels(deps);
  });
}
