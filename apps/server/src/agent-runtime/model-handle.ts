import { badRequest } from '../errors.js';
import type { AgentRuntime } from './runtime.js';

/**
 * The provider an OpenAI-compatible endpoint's models are known by, in Letta's handles
 * (`openai/gpt-4o-mini`): the endpoint speaks OpenAI's API, whoever serves it.
 */
export const OPENAI_PROVIDER = 'openai';

/**
 * How long checking a model waits on the endpoint's `/models`: past it (or when the endpoint
 * is down or has no such route) the model is taken as given, as nothing better is known.
 */
export const ENDPOINT_MODELS_WAIT_MS = 5_000;

/**
 * The id the endpoint knows an agent's model by: its handle without the provider, or the
 * id itself for a model stored before handles were resolved.
 */
export function endpointModelId(model: string): string {
  const prefix = `${OPENAI_PROVIDER}/`;
  return model.startsWith(prefix) ? model.slice(prefix.length) : model;
}

/** The provider as Letta names it: the builtin runtime stands in for Letta's own models. */
export function providerOf(runtime: AgentRuntime) {
  const endpointType = runtime.llmConfig(null).model_endpoint_type;
  return endpointType === 'openai'
    ? { name: OPENAI_PROVIDER, type: 'openai' }
    : { name: endpointType, type: 'letta' };
}

/** The endpoint's model ids, or undefined when it cannot say within the wait. */
export async function offeredModelIds(
  runtime: AgentRuntime,
  signal?: AbortSignal,
): Promise<string[] | undefined> {
  if (!runtime.listModelIds) return undefined;
  const wait = AbortSignal.timeout(ENDPOINT_MODELS_WAIT_MS);
  try {
    const ids = await runtime.listModelIds(signal ? AbortSignal.any([signal, wait]) : wait);
    // An endpoint that lists nothing says nothing about what it serves.
    return ids.length > 0 ? ids : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An agent's `model` on create or update, as it is stored: Letta's `provider/model` handle
 * of a model the configured endpoint serves. A bare id is taken as the endpoint's; a handle
 * of another provider, or a model the endpoint's `/models` does not list, is refused (a
 * 400 naming the model) rather than failing every turn later. The builtin runtime answers
 * every agent itself, so whatever model Letta code names is kept as given.
 */
export async function resolveModelHandle(
  runtime: AgentRuntime,
  requested: string,
  signal?: AbortSignal,
): Promise<string> {
  const { model: configured, model_endpoint_type } = runtime.llmConfig(null);
  if (model_endpoint_type !== 'openai') return requested;
  const offered = await offeredModelIds(runtime, signal);
  const known = (id: string) => id === configured || (offered?.includes(id) ?? false);
  const slash = requested.indexOf('/');
  let id = requested;
  // An id of the endpoint's own may hold a slash (`meta-llama/Llama-3-8b`, even `openai/…`
  // behind a router): only an id the endpoint does not know is read as a handle.
  if (slash >= 0 && !known(requested)) {
    const provider = requested.slice(0, slash);
    if (provider !== OPENAI_PROVIDER) {
      throw badRequest(
        `"${requested}" names the provider "${provider}", which this server does not have; its models are served as "${OPENAI_PROVIDER}" (e.g. "${OPENAI_PROVIDER}/${configured}")`,
        'model',
      );
    }
    id = requested.slice(slash + 1);
  }
  if (id === '') throw badRequest(`"${requested}" names no model`, 'model');
  if (offered && !known(id)) {
    const others = offered.filter((o) => o !== configured);
    const shown = [configured, ...others.slice(0, 19)].map((o) => `"${o}"`).join(', ');
    throw badRequest(
      `the model "${id}" is not served by this server's provider; it serves ${shown}${others.length > 19 ? ', …' : ''}`,
      'model',
    );
  }
  return `${OPENAI_PROVIDER}/${id}`;
}
