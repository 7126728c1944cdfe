import { z } from 'zod';
import type { ServiceDeps } from '../deps.js';
import { parseInput } from '../lib/parse-input.js';
import { offeredModelIds, providerOf } from './model-handle.js';

export const providerCategoriesSchema = z.array(z.enum(['base', 'byok']));

/** Letta's `ModelListParams`; this server has one provider, of category `base`. */
export const modelListSchema = z.strictObject({
  provider_category: providerCategoriesSchema.nullable().optional(),
  provider_name: z.string().max(200).nullable().optional(),
  provider_type: z.string().max(200).nullable().optional(),
});
export type ModelListInput = z.input<typeof modelListSchema>;

/** Letta's `Model`, the fields a model picker reads (the SDK's required ones and the handle). */
export interface ModelView {
  name: string;
  model: string;
  display_name: string;
  handle: string;
  model_type: 'llm';
  model_endpoint_type: string;
  provider_name: string;
  provider_type: string;
  provider_category: 'base';
  context_window: number;
  max_context_window: number;
}

/** Letta's `EmbeddingModel`. */
export interface EmbeddingModelView {
  name: string;
  embedding_model: string;
  display_name: string;
  handle: string;
  model_type: 'embedding';
  embedding_endpoint_type: 'openai';
  embedding_dim: number;
  provider_name: string;
  provider_type: string;
}

// An endpoint's /models mixes chat models with embedding, speech, image and moderation ones;
// only the names say which is which.
const EMBEDDING = /embed/i;
const NEITHER = /whisper|tts|dall-e|moderation|transcribe|image|sora/i;

/** OpenAI's sizes; an endpoint does not say, so others get Letta's default. */
const EMBEDDING_DIMS: Record<string, number> = {
  'text-embedding-3-large': 3072,
  'text-embedding-3-small': 1536,
  'text-embedding-ada-002': 1536,
};
const DEFAULT_EMBEDDING_DIM = 1536;

/** The models agents may be given: the configured one first, then what the endpoint offers. */
export async function listModels(
  { agentRuntime }: Pick<ServiceDeps, 'agentRuntime'>,
  query: ModelListInput,
  signal?: AbortSignal,
): Promise<ModelView[]> {
  const input = parseInput(modelListSchema, query);
  const provider = providerOf(agentRuntime);
  if (input.provider_category && !input.provider_category.includes('base')) return [];
  if (input.provider_name && input.provider_name !== provider.name) return [];
  if (input.provider_type && input.provider_type !== provider.type) return [];
  const configured = agentRuntime.llmConfig(null).model;
  // When the endpoint cannot say, the list holds the configured model alone: a picker still
  // needs one to offer.
  const offered = ((await offeredModelIds(agentRuntime, signal)) ?? []).filter(
    (id) => !EMBEDDING.test(id) && !NEITHER.test(id),
  );
  return [...new Set([configured, ...offered])].map((id) => {
    const config = agentRuntime.llmConfig(`${provider.name}/${id}`);
    return {
      name: config.model,
      model: config.model,
      display_name: config.model,
      handle: `${provider.name}/${config.model}`,
      model_type: 'llm',
      model_endpoint_type: config.model_endpoint_type,
      provider_name: provider.name,
      provider_type: provider.type,
      provider_category: 'base',
      context_window: config.context_window,
      max_context_window: config.context_window,
    };
  });
}

/**
 * The endpoint's embedding models. Nothing here embeds yet (an agent's `embedding` is
 * accepted and ignored), so the builtin runtime, which has none, lists none.
 */
export async function listEmbeddingModels(
  { agentRuntime }: Pick<ServiceDeps, 'agentRuntime'>,
  signal?: AbortSignal,
): Promise<EmbeddingModelView[]> {
  const provider = providerOf(agentRuntime);
  const ids = ((await offeredModelIds(agentRuntime, signal)) ?? []).filter((id) =>
    EMBEDDING.test(id),
  );
  return ids.map((id) => ({
    name: id,
    embedding_model: id,
    display_name: id,
    handle: `${provider.name}/${id}`,
    model_type: 'embedding',
    embedding_endpoint_type: 'openai',
    embedding_dim: EMBEDDING_DIMS[id] ?? DEFAULT_EMBEDDING_DIM,
    provider_name: provider.name,
    provider_type: provider.type,
  }));
}
