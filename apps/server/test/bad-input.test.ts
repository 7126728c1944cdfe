import { generateToken } from '@scopekit/policy';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSession } from '../src/accounts/sessions.js';
import { signUp } from '../src/accounts/users.js';
import { toolId } from '../src/agents/tool-catalog.js';
import type { ServiceDeps } from '../src/deps.js';
import { createApiKey, revokeApiKey } from '../src/tokens/api-keys.js';
import { revokeClientTokenById } from '../src/tokens/client-token-revocation.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { appRouter } from '../src/trpc/router.js';
import {
  APP_ORIGIN,
  type SeededOrganization,
  seedOrganization,
  TestClock,
} from './support/fixtures.js';
import type { TestServer } from './support/server.js';
import { databaseFingerprint } from './support/snapshot.js';
import { useTestEnvironment } from './support/suite.js';

/**
 * Every route and procedure, fed generated bad input: each case must get a 4xx whose body
 * names the problem (never a 5xx, never a stack trace) and must leave every table as it was.
 */
const clock = new TestClock();
const environment = useTestEnvironment({ server: true, clock });
let deps: ServiceDeps;
let server: TestServer;
let world: World;

interface World {
  acme: SeededOrganization;
  globex: SeededOrganization;
  token: string;
  globexToken: string;
  expired: string;
  revoked: string;
  /** Session cookies of a web user and of an administrator. */
  userCookie: string;
  adminCookie: string;
}

const ALL_ACCESS = ['read_messages', 'write_messages', 'read_agent', 'write_agent'] as const;

async function mint(org: SeededOrganization) {
  return mintClientToken(deps, {
    organizationId: org.organizationId,
    hostname: APP_ORIGIN,
    policy: [{ type: 'agent', id: org.agentId, access: [...ALL_ACCESS] }],
  });
}

beforeAll(async () => {
  ({ deps, server } = environment);
  const acme = await seedOrganization(deps, 'acme');
  const globex = await seedOrganization(deps, 'globex');
  clock.advance(-10 * 60_000);
  const expired = await mint(acme);
  clock.reset();
  const revoked = await mint(acme);
  await revokeClientTokenById(deps, { organizationId: acme.organizationId, id: revoked.id });
  const user = await signUp(deps, { username: 'battery-user', password: 'a long password' });
  const adminUser = await signUp(deps, {
    username: 'battery-admin',
    password: 'a long password',
    role: 'admin',
  });
  const cookie = async (userId: string) =>
    `scopekit_session=${(await createSession(deps, { userId })).sessionId}`;
  world = {
    userCookie: await cookie(user.id),
    adminCookie: await cookie(adminUser.id),
    acme,
    globex,
    token: (await mint(acme)).token,
    globexToken: (await mint(globex)).token,
    expired: expired.token,
    revoked: revoked.token,
  };
});

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
interface Endpoint {
  name: string;
  method: Method;
  path: (w: World) => string;
  /**
   * Which credential the endpoint accepts: API-key-only endpoints refuse client tokens;
   * `session` and `admin` take the web app's session cookie; `web` takes one if sent (and
   * refuses other origins); `public` takes none.
   */
  accepts: 'apiKey' | 'both' | 'session' | 'admin' | 'web' | 'public';
  /** A valid body, for endpoints that take one. */
  body?: (w: World) => Record<string, unknown>;
  /** A valid query string, and values each of its keys must refuse. */
  query?: Record<string, string>;
  badQuery?: Record<string, string[]>;
  /** Where the endpoint reads an agent id, so another organization's can be put there. */
  agentIn?: 'path' | 'body';
  /**
   * A tRPC subscription over SSE: tRPC answers 200 and sends the refusal as the stream's
   * `serialized-error` event, carrying the HTTP status it stands for; the client raises it.
   */
  sse?: true;
  /** Body keys whose absence is an error (all of them unless said otherwise). */
  requiredKeys?: string[];
  /** Body keys whose valid values may run to 32 KB. */
  roomy?: string[];
  /** Body keys that may be emptied (`''`) or left unchanged (`null`): neither is bad input. */
  clearable?: string[];
  /** A tRPC query: its procedure and a valid input, spoiled like bodies but sent in the URL. */
  trpcQuery?: {
    procedure: string;
    input: (w: World) => Record<string, unknown>;
    required: string[];
  };
  /** The path with its parameter (an agent id, a token) replaced by whatever is given. */
  pathWith?: (w: World, param: string) => string;
  /** Query-string filters that take text (a name, a cursor), for text the database refuses. */
  textQuery?: string[];
}

const trpcGet = (procedure: string, input: (w: World) => unknown) => (w: World) =>
  `/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input(w)))}`;

/** A tRPC query whose input the battery spoils too; keys not `required` have defaults. */
const trpcQuery = (
  procedure: string,
  input: (w: World) => Record<string, unknown>,
  required: string[] = [],
) => ({
  method: 'GET' as const,
  path: trpcGet(procedure, input),
  trpcQuery: { procedure, input, required },
});

const agentPath =
  (suffix = '') =>
  (_w: World, id: string) =>
    `/v1/agents/${encodeURIComponent(id)}${suffix}`;

const tokenBody = (w: World) => ({
  hostname: APP_ORIGIN,
  policy: [{ type: 'agent', id: w.acme.agentId, access: ['read_messages'] }],
});

/**
 * The battery changes nothing, so the identity routes are sent one that does not exist: a
 * valid request to them is a 404, and every bad one must be refused before that.
 */
const UNKNOWN_IDENTITY = 'identity-00000000-0000-0000-0000-000000000000';
const UNKNOWN_BLOCK = 'block-00000000-0000-0000-0000-000000000000';
const UNKNOWN_RUN = 'run-00000000-0000-0000-0000-000000000000';
const identityBody = () => ({ identifier_key: 'user-1', name: 'Ada', identity_type: 'user' });

const ENDPOINTS: Endpoint[] = [
  {
    name: 'REST create token',
    method: 'POST',
    path: () => '/v1/client-side-access-tokens',
    accepts: 'apiKey',
    body: tokenBody,
    agentIn: 'body',
  },
  {
    name: 'REST list tokens',
    method: 'GET',
    path: () => '/v1/client-side-access-tokens',
    accepts: 'apiKey',
    query: { limit: '10', offset: '0' },
    badQuery: { limit: ['0', '101'], offset: ['1000001'] },
  },
  {
    name: 'REST delete token',
    method: 'DELETE',
    path: (w) => `/v1/client-side-access-tokens/${w.token}`,
    pathWith: (_w, token) => `/v1/client-side-access-tokens/${encodeURIComponent(token)}`,
    accepts: 'apiKey',
  },
  {
    name: 'REST get agent',
    method: 'GET',
    path: (w) => `/v1/agents/${w.acme.agentId}`,
    pathWith: agentPath(),
    accepts: 'both',
    agentIn: 'path',
  },
  {
    name: 'tRPC tokens.create',
    method: 'POST',
    path: () => '/trpc/tokens.create',
    accepts: 'apiKey',
    body: tokenBody,
    agentIn: 'body',
  },
  {
    name: 'tRPC tokens.list',
    ...trpcQuery('tokens.list', () => ({ limit: 10 })),
    accepts: 'apiKey',
  },
  {
    name: 'tRPC tokens.revoke',
    method: 'POST',
    path: () => '/trpc/tokens.revoke',
    accepts: 'apiKey',
    body: () => ({ id: 'tok-00000000-0000-0000-0000-000000000000' }),
  },
  {
    name: 'tRPC agents.retrieve',
    ...trpcQuery('agents.retrieve', (w) => ({ agentId: w.acme.agentId }), ['agentId']),
    accepts: 'both',
    agentIn: 'path',
  },
  {
    name: 'REST create agent',
    method: 'POST',
    path: () => '/v1/agents',
    accepts: 'apiKey',
    body: () => ({ name: 'x' }),
    requiredKeys: [],
  },
  {
    name: 'REST list agents',
    method: 'GET',
    path: () => '/v1/agents',
    accepts: 'apiKey',
    query: { limit: '10' },
    badQuery: { limit: ['0', '101'] },
    textQuery: ['name', 'query_text', 'after', 'before', 'tags', 'project_id'],
  },
  {
    name: 'REST update agent',
    method: 'PATCH',
    path: (w) => `/v1/agents/${w.acme.agentId}`,
    pathWith: agentPath(),
    accepts: 'both',
    body: () => ({ name: 'x' }),
    requiredKeys: [],
    agentIn: 'path',
  },
  {
    name: 'REST list memory blocks',
    method: 'GET',
    path: (w) => `/v1/agents/${w.acme.agentId}/core-memory/blocks`,
    pathWith: agentPath('/core-memory/blocks'),
    accepts: 'both',
    query: { limit: '10' },
    badQuery: { limit: ['0', 'ten'] },
    textQuery: ['after', 'before'],
    agentIn: 'path',
  },
  {
    name: 'REST get memory block',
    method: 'GET',
    path: (w) => `/v1/agents/${w.acme.agentId}/core-memory/blocks/human`,
    pathWith: agentPath('/core-memory/blocks/human'),
    accepts: 'both',
    agentIn: 'path',
  },
  {
    name: 'REST update memory block',
    method: 'PATCH',
    path: (w) => `/v1/agents/${w.acme.agentId}/core-memory/blocks/human`,
    pathWith: agentPath('/core-memory/blocks/human'),
    accepts: 'both',
    body: () => ({ value: 'x' }),
    requiredKeys: [],
    roomy: ['value'],
    clearable: ['value'],
    agentIn: 'path',
  },
  {
    name: 'tRPC agents.updateBlock',
    method: 'POST',
    path: () => '/trpc/agents.updateBlock',
    accepts: 'both',
    body: (w) => ({ agentId: w.acme.agentId, label: 'human', value: 'x' }),
    requiredKeys: ['agentId', 'label'],
    roomy: ['value'],
    clearable: ['value'],
    agentIn: 'body',
  },
  {
    name: 'REST delete agent',
    method: 'DELETE',
    path: (w) => `/v1/agents/${w.acme.agentId}`,
    pathWith: agentPath(),
    accepts: 'apiKey',
    agentIn: 'path',
  },
  {
    name: 'REST list messages',
    method: 'GET',
    path: (w) => `/v1/agents/${w.acme.agentId}/messages`,
    pathWith: agentPath('/messages'),
    accepts: 'both',
    query: { limit: '10' },
    badQuery: { limit: ['0', '1001'] },
    textQuery: ['after', 'before'],
    agentIn: 'path',
  },
  {
    name: 'REST send message',
    method: 'POST',
    path: (w) => `/v1/agents/${w.acme.agentId}/messages`,
    pathWith: agentPath('/messages'),
    accepts: 'both',
    body: () => ({ messages: [{ role: 'user', content: 'hi' }] }),
    agentIn: 'path',
  },
  {
    name: 'REST stream message',
    method: 'POST',
    path: (w) => `/v1/agents/${w.acme.agentId}/messages/stream`,
    pathWith: agentPath('/messages/stream'),
    accepts: 'both',
    body: () => ({ messages: [{ role: 'user', content: 'hi' }] }),
    agentIn: 'path',
  },
  {
    name: 'REST cancel messages',
    method: 'POST',
    path: (w) => `/v1/agents/${w.acme.agentId}/messages/cancel`,
    pathWith: agentPath('/messages/cancel'),
    accepts: 'both',
    body: () => ({ run_ids: ['run-00000000-0000-0000-0000-000000000000'] }),
    requiredKeys: [],
    // `null` (as absent) cancels whichever run is running.
    clearable: ['run_ids'],
    agentIn: 'path',
  },
  {
    name: 'REST send message in the background',
    method: 'POST',
    path: (w) => `/v1/agents/${w.acme.agentId}/messages/async`,
    pathWith: agentPath('/messages/async'),
    accepts: 'both',
    body: () => ({ messages: [{ role: 'user', content: 'hi' }] }),
    agentIn: 'path',
  },
  {
    name: 'REST list runs',
    method: 'GET',
    path: () => '/v1/runs',
    accepts: 'apiKey',
    query: { limit: '10', order: 'asc' },
    badQuery: { limit: ['0', '1001'], order: ['up'], statuses: ['done'], active: ['yes'] },
    textQuery: ['after', 'before', 'agent_id', 'stop_reason'],
  },
  {
    name: 'REST get run',
    method: 'GET',
    path: () => `/v1/runs/${UNKNOWN_RUN}`,
    accepts: 'apiKey',
  },
  {
    name: 'REST list run messages',
    method: 'GET',
    path: () => `/v1/runs/${UNKNOWN_RUN}/messages`,
    accepts: 'apiKey',
    query: { limit: '10', order: 'asc' },
    badQuery: { limit: ['0', '1001'], order: ['up'] },
  },
  {
    name: 'REST stream run',
    method: 'POST',
    path: () => `/v1/runs/${UNKNOWN_RUN}/stream`,
    accepts: 'apiKey',
    body: () => ({ starting_after: 0 }),
    requiredKeys: [],
  },
  {
    name: 'REST list models',
    method: 'GET',
    path: () => '/v1/models',
    accepts: 'apiKey',
    query: { provider_category: 'base' },
    badQuery: { provider_category: ['cheap'] },
    textQuery: ['provider_name', 'provider_type'],
  },
  {
    name: 'REST list embedding models',
    method: 'GET',
    path: () => '/v1/models/embedding',
    accepts: 'apiKey',
  },
  {
    name: 'REST create block',
    method: 'POST',
    path: () => '/v1/blocks',
    accepts: 'apiKey',
    body: () => ({ label: 'team', value: 'shared' }),
    requiredKeys: ['label', 'value'],
    // A block's value may hold 10,000 characters: 8 KB of it is valid, not oversized.
    roomy: ['value'],
    clearable: ['value'],
  },
  {
    name: 'REST list blocks',
    method: 'GET',
    path: () => '/v1/blocks',
    accepts: 'apiKey',
    query: { limit: '10', order: 'asc' },
    badQuery: { limit: ['0', '1001'], order: ['up'], templates_only: ['yes'], tags: ['a'] },
    textQuery: ['after', 'before', 'label', 'label_search', 'value_search'],
  },
  {
    name: 'REST get block',
    method: 'GET',
    path: () => `/v1/blocks/${UNKNOWN_BLOCK}`,
    accepts: 'apiKey',
  },
  {
    name: 'REST update block',
    method: 'PATCH',
    path: () => `/v1/blocks/${UNKNOWN_BLOCK}`,
    accepts: 'apiKey',
    body: () => ({ value: 'x' }),
    requiredKeys: [],
  },
  {
    name: 'REST delete block',
    method: 'DELETE',
    path: () => `/v1/blocks/${UNKNOWN_BLOCK}`,
    accepts: 'apiKey',
  },
  {
    name: 'REST attach block',
    method: 'PATCH',
    path: (w) => `/v1/agents/${w.acme.agentId}/core-memory/blocks/attach/${UNKNOWN_BLOCK}`,
    pathWith: agentPath(`/core-memory/blocks/attach/${UNKNOWN_BLOCK}`),
    accepts: 'apiKey',
    agentIn: 'path',
  },
  {
    name: 'REST detach block',
    method: 'PATCH',
    path: (w) => `/v1/agents/${w.acme.agentId}/core-memory/blocks/detach/${UNKNOWN_BLOCK}`,
    pathWith: agentPath(`/core-memory/blocks/detach/${UNKNOWN_BLOCK}`),
    accepts: 'apiKey',
    agentIn: 'path',
  },
  {
    name: 'REST list tools',
    method: 'GET',
    path: () => '/v1/tools',
    accepts: 'apiKey',
    query: { limit: '10' },
    badQuery: { limit: ['0', '1001'], return_only_letta_tools: ['yes'] },
  },
  {
    name: 'REST get tool',
    method: 'GET',
    path: () => `/v1/tools/${toolId('memory_insert')}`,
    accepts: 'apiKey',
  },
  {
    name: 'REST list agent tools',
    method: 'GET',
    path: (w) => `/v1/agents/${w.acme.agentId}/tools`,
    pathWith: agentPath('/tools'),
    accepts: 'both',
    query: { limit: '10' },
    badQuery: { limit: ['0', 'ten'], order: ['up'] },
    agentIn: 'path',
  },
  {
    name: 'REST attach tool',
    method: 'PATCH',
    path: (w) => `/v1/agents/${w.acme.agentId}/tools/attach/${toolId('web_search')}`,
    pathWith: agentPath(`/tools/attach/${toolId('web_search')}`),
    accepts: 'apiKey',
    agentIn: 'path',
  },
  {
    name: 'REST detach tool',
    method: 'PATCH',
    path: (w) => `/v1/agents/${w.acme.agentId}/tools/detach/${toolId('run_code')}`,
    pathWith: agentPath(`/tools/detach/${toolId('run_code')}`),
    accepts: 'apiKey',
    agentIn: 'path',
  },
  {
    name: 'REST list organization messages',
    method: 'GET',
    path: () => '/v1/messages',
    accepts: 'apiKey',
    query: { limit: '10', order: 'asc' },
    badQuery: { limit: ['0', '1001'], order: ['up'], conversation_id: ['conv-1'] },
  },
  {
    name: 'REST list tags',
    method: 'GET',
    path: () => '/v1/tags',
    accepts: 'apiKey',
    query: { limit: '10', order: 'asc' },
    badQuery: { limit: ['0', '1001'], order: ['up'] },
  },
  {
    name: 'REST create identity',
    method: 'POST',
    path: () => '/v1/identities',
    accepts: 'apiKey',
    body: identityBody,
    requiredKeys: ['identifier_key', 'name', 'identity_type'],
  },
  {
    name: 'REST upsert identity',
    method: 'PUT',
    path: () => '/v1/identities',
    accepts: 'apiKey',
    body: identityBody,
    requiredKeys: ['identifier_key', 'name', 'identity_type'],
  },
  {
    name: 'REST list identities',
    method: 'GET',
    path: () => '/v1/identities',
    accepts: 'apiKey',
    query: { limit: '10' },
    badQuery: { limit: ['0', '101'], identity_type: ['person'] },
  },
  {
    name: 'REST get identity',
    method: 'GET',
    path: () => `/v1/identities/${UNKNOWN_IDENTITY}`,
    accepts: 'apiKey',
  },
  {
    name: 'REST update identity',
    method: 'PATCH',
    path: () => `/v1/identities/${UNKNOWN_IDENTITY}`,
    accepts: 'apiKey',
    body: () => ({ name: 'x' }),
    requiredKeys: [],
  },
  {
    // Its body is a list (the whole new set), so it is spoiled as a body-less route is;
    // letta-sdk-ported-app.test.ts refuses a wrongly typed property.
    name: 'REST upsert identity properties',
    method: 'PUT',
    path: () => `/v1/identities/${UNKNOWN_IDENTITY}/properties`,
    accepts: 'apiKey',
  },
  {
    name: 'REST delete identity',
    method: 'DELETE',
    path: () => `/v1/identities/${UNKNOWN_IDENTITY}`,
    accepts: 'apiKey',
  },
  {
    name: 'REST attach identity',
    method: 'PATCH',
    path: (w) => `/v1/agents/${w.acme.agentId}/identities/attach/${UNKNOWN_IDENTITY}`,
    pathWith: agentPath(`/identities/attach/${UNKNOWN_IDENTITY}`),
    accepts: 'apiKey',
    agentIn: 'path',
  },
  {
    name: 'REST detach identity',
    method: 'PATCH',
    path: (w) => `/v1/agents/${w.acme.agentId}/identities/detach/${UNKNOWN_IDENTITY}`,
    pathWith: agentPath(`/identities/detach/${UNKNOWN_IDENTITY}`),
    accepts: 'apiKey',
    agentIn: 'path',
  },
  {
    name: 'tRPC agents.create',
    method: 'POST',
    path: () => '/trpc/agents.create',
    accepts: 'apiKey',
    body: () => ({ name: 'x' }),
    requiredKeys: [],
  },
  {
    name: 'tRPC agents.list',
    ...trpcQuery('agents.list', () => ({ limit: 10 })),
    accepts: 'apiKey',
  },
  {
    name: 'tRPC agents.update',
    method: 'POST',
    path: () => '/trpc/agents.update',
    accepts: 'both',
    body: (w) => ({ agentId: w.acme.agentId, name: 'x' }),
    requiredKeys: ['agentId'],
    agentIn: 'body',
  },
  {
    name: 'tRPC agents.delete',
    method: 'POST',
    path: () => '/trpc/agents.delete',
    accepts: 'apiKey',
    body: (w) => ({ agentId: w.acme.agentId }),
    agentIn: 'body',
  },
  {
    name: 'tRPC messages.list',
    ...trpcQuery('messages.list', (w) => ({ agentId: w.acme.agentId }), ['agentId']),
    accepts: 'both',
    agentIn: 'body',
  },
  {
    name: 'tRPC messages.send',
    method: 'POST',
    path: () => '/trpc/messages.send',
    accepts: 'both',
    body: (w) => ({ agentId: w.acme.agentId, content: 'hi' }),
    roomy: ['content'],
    agentIn: 'body',
  },
  {
    name: 'tRPC messages.cancel',
    method: 'POST',
    path: () => '/trpc/messages.cancel',
    accepts: 'both',
    body: (w) => ({
      agentId: w.acme.agentId,
      runIds: ['run-00000000-0000-0000-0000-000000000000'],
    }),
    requiredKeys: ['agentId'],
    clearable: ['runIds'],
    agentIn: 'body',
  },
  {
    name: 'tRPC messages.events',
    ...trpcQuery('messages.events', (w) => ({ agentId: w.acme.agentId }), ['agentId']),
    accepts: 'both',
    agentIn: 'body',
    sse: true,
  },
  {
    name: 'tRPC session.signUp',
    method: 'POST',
    path: () => '/trpc/session.signUp',
    accepts: 'web',
    body: () => ({ username: 'newcomer', password: 'a long password' }),
  },
  {
    name: 'tRPC session.logIn',
    method: 'POST',
    path: () => '/trpc/session.logIn',
    accepts: 'web',
    body: () => ({ username: 'battery-user', password: 'not the password' }),
  },
  {
    name: 'tRPC session.logOut',
    method: 'POST',
    path: () => '/trpc/session.logOut',
    accepts: 'web',
  },
  {
    name: 'tRPC session.logOutEverywhere',
    method: 'POST',
    path: () => '/trpc/session.logOutEverywhere',
    accepts: 'session',
  },
  {
    name: 'tRPC session.me',
    method: 'GET',
    path: () => '/trpc/session.me',
    accepts: 'web',
  },
  {
    name: 'health',
    method: 'GET',
    path: () => '/healthz',
    accepts: 'public',
  },
  {
    name: 'tRPC health',
    method: 'GET',
    path: () => '/trpc/health',
    accepts: 'public',
  },
  {
    name: 'tRPC session.token',
    method: 'POST',
    path: () => '/trpc/session.token',
    accepts: 'session',
  },
  {
    name: 'tRPC session.renameAgent',
    method: 'POST',
    path: () => '/trpc/session.renameAgent',
    accepts: 'session',
    body: () => ({ name: 'renamed by the battery' }),
  },
  {
    name: 'tRPC admin.users.list',
    method: 'GET',
    path: trpcGet('admin.users.list', () => undefined),
    accepts: 'admin',
  },
  {
    name: 'tRPC admin.tokens.list',
    ...trpcQuery('admin.tokens.list', () => ({ limit: 10 })),
    accepts: 'admin',
  },
  {
    name: 'tRPC admin.tokens.revoke',
    method: 'POST',
    path: () => '/trpc/admin.tokens.revoke',
    accepts: 'admin',
    body: () => ({ id: 'tok-00000000-0000-0000-0000-000000000000' }),
  },
];

/** The headers of a request made with the endpoint's own kind of valid credential. */
function validHeaders(endpoint: Endpoint, w: World): Record<string, string> {
  switch (endpoint.accepts) {
    case 'public':
      return { 'content-type': 'application/json', origin: APP_ORIGIN };
    case 'web':
      return { 'content-type': 'application/json', origin: APP_ORIGIN, cookie: w.userCookie };
    case 'session':
    case 'admin':
      return { 'content-type': 'application/json', origin: APP_ORIGIN, cookie: w.adminCookie };
    default:
      return jsonHeaders(w.acme.apiKey);
  }
}

const garbageCookie = fc
  .string({ minLength: 1, maxLength: 60 })
  .map((v) => `scopekit_session=${encodeURIComponent(v)}`);

interface Case {
  endpoint: Endpoint;
  fault: string;
  /** The field a 400's message must name, when one field is to blame. */
  field?: string;
  /** Another method than the endpoint's, for the wrong-method case. */
  method?: string;
  build: (w: World) => { path: string; headers: Record<string, string>; body?: string };
}

const jsonHeaders = (key: string, origin = APP_ORIGIN) => ({
  authorization: `Bearer ${key}`,
  'content-type': 'application/json',
  origin,
});

function mutateOneChar(token: string, position: number, char: string) {
  const i = 7 + (position % (token.length - 7));
  const replacement = token[i] === char ? (char === 'a' ? 'b' : 'a') : char;
  return token.slice(0, i) + replacement + token.slice(i + 1);
}

const base62Char = fc.constantFrom(
  ...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'.split(''),
);
const headerSafeString = fc
  .string({ minLength: 1, maxLength: 80 })
  .map((s) => s.replace(/[^\x21-\x7e]/g, 'x'));

/** Credentials that must be refused everywhere. */
const badCredential: fc.Arbitrary<[string, (w: World) => string | undefined]> = fc.oneof(
  fc.constant(['no Authorization', () => undefined] as [string, (w: World) => string | undefined]),
  headerSafeString.map(
    (s) => ['another scheme', () => `Basic ${s}`] as [string, (w: World) => string | undefined],
  ),
  headerSafeString.map(
    (s) => ['garbage bearer', () => `Bearer ${s}`] as [string, (w: World) => string | undefined],
  ),
  fc.constant(['wrong prefix', (w: World) => `Bearer xk-let-${w.token.slice(7)}`] as [
    string,
    (w: World) => string | undefined,
  ]),
  fc
    .tuple(fc.nat(), base62Char)
    .map(
      ([p, c]) =>
        ['wrong checksum', (w: World) => `Bearer ${mutateOneChar(w.token, p, c)}`] as [
          string,
          (w: World) => string | undefined,
        ],
    ),
  fc
    .integer({ min: 8, max: 55 })
    .map(
      (n) =>
        ['wrong length', (w: World) => `Bearer ${w.token.slice(0, n)}`] as [
          string,
          (w: World) => string | undefined,
        ],
    ),
  fc.constant(['unknown token', () => `Bearer ${generateToken('client')}`] as [
    string,
    (w: World) => string | undefined,
  ]),
  fc.constant(['unknown key', () => `Bearer ${generateToken('server')}`] as [
    string,
    (w: World) => string | undefined,
  ]),
  fc.constant(['expired token', (w: World) => `Bearer ${w.expired}`] as [
    string,
    (w: World) => string | undefined,
  ]),
  fc.constant(['revoked token', (w: World) => `Bearer ${w.revoked}`] as [
    string,
    (w: World) => string | undefined,
  ]),
  fc.constant(['revoked key', () => `Bearer ${late.revokedKey}`] as [
    string,
    (w: World) => string | undefined,
  ]),
  fc.constant(['oversized header', () => `Bearer ${'a'.repeat(20_000)}`] as [
    string,
    (w: World) => string | undefined,
  ]),
);

// Objects are drawn non-empty with keys no schema knows: `{}` is a valid body where every
// field is optional (creating an agent).
const wrongTypes = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(
    fc.string({ maxLength: 8 }).map((k) => `x_${k}`),
    fc.oneof(fc.integer(), fc.string()),
    { minKeys: 1, maxKeys: 3 },
  ),
);

/** A spoiled input: what is wrong, its JSON text, and the field the refusal must name. */
type Spoiled = { fault: string; text: string; field?: string };

const spoiled = (fault: string, text: string, field?: string): Spoiled => ({ fault, text, field });

/** Bodies (or query inputs) between 8 and 32 KB: past any field's limit, under the body's. */
const midSize = fc.integer({ min: 8 * 1024, max: 32 * 1024 });

const jsonType = (value: unknown) =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;

/** Characters PostgreSQL refuses (NUL, in `text` and `jsonb`) or UTF-8 cannot carry. */
const UNSTORABLE_CHARS = ['\u0000', '\uD800', '\uDC00'] as const;
const unstorableText = fc
  .tuple(
    fc.string({ maxLength: 8 }),
    fc.constantFrom(...UNSTORABLE_CHARS),
    fc.string({ maxLength: 8 }),
  )
  .map((parts) => parts.join(''));
/** A URL carries no unpaired surrogate (it is UTF-8), only the NUL. */
const nulText = fc
  .tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }))
  .map(([a, b]) => `${a}\u0000${b}`);
/** Stands for a number JSON.parse makes Infinity of; JSON.stringify cannot write one. */
const HUGE = '__huge_number__';
const withHugeNumbers = (text: string) => text.replaceAll(`"${HUGE}"`, '1e999');

type Segment = string | number;
/** The path of a leaf as a 400 names it: `messages[0].content`. */
const fieldOf = (segments: Segment[]) =>
  segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : `${i === 0 ? '' : '.'}${s}`)).join('');

/** Every leaf (string, number, boolean) of a valid input, by its path. */
function leavesOf(value: unknown, path: Segment[] = []): { path: Segment[]; value: unknown }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leavesOf(v, [...path, i]));
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([k, v]) => leavesOf(v, [...path, k]));
  return [{ path, value }];
}

function withLeaf(value: unknown, path: Segment[], replacement: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return replacement;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<
    Segment,
    unknown
  >;
  copy[head] = withLeaf(copy[head], rest, replacement);
  return copy;
}

/** A valid input with one leaf, at any depth, made a value the database refuses. */
function unstorableLeaf(valid: Record<string, unknown>): fc.Arbitrary<Spoiled> | undefined {
  const leaves = leavesOf(valid);
  if (!leaves.length) return undefined;
  return fc.constantFrom(...leaves).chain(({ path, value }) => {
    const field = fieldOf(path);
    const text = unstorableText.map((bad) =>
      spoiled(`unstorable text in ${field}`, JSON.stringify(withLeaf(valid, path, bad)), field),
    );
    if (typeof value !== 'number') return text;
    const huge = spoiled(
      `infinite number in ${field}`,
      withHugeNumbers(JSON.stringify(withLeaf(valid, path, HUGE))),
      field,
    );
    return fc.oneof(text, fc.constant(huge));
  });
}

function spoilBody(
  valid: Record<string, unknown>,
  options: { required?: string[]; roomy?: string[]; clearable?: string[]; inUrl?: boolean } = {},
): fc.Arbitrary<Spoiled> {
  const keys = Object.keys(valid);
  const clearable = options.clearable ?? [];
  const emptiable = keys.filter((k) => !clearable.includes(k));
  const required = options.required ?? keys;
  // Fields whose valid values may be this long (a message's text) are not oversized at 32 KB.
  const tight = keys.filter((k) => !options.roomy?.includes(k));
  const spoilers: fc.Arbitrary<Spoiled>[] = [
    // An empty `?input=` is no input at all, which a query with defaults takes.
    fc
      .string({ minLength: options.inUrl ? 1 : 0, maxLength: 40 })
      .filter((s) => {
        try {
          JSON.parse(s);
          return false;
        } catch {
          return true;
        }
      })
      .map((s) => spoiled('malformed JSON', s)),
    fc.constantFrom(...keys).chain((k) =>
      wrongTypes
        // A number is no wrong type for a number field, whatever its value.
        .filter((v) => jsonType(v) !== jsonType(valid[k]))
        .filter((v) => v !== null || !clearable.includes(k))
        .map((v) => spoiled(`wrong type for ${k}`, JSON.stringify({ ...valid, [k]: v }), k)),
    ),
    fc
      .string({ minLength: 1, maxLength: 12 })
      .filter((k) => !keys.includes(k) && k !== '__proto__')
      .map((k) => spoiled(`unknown field ${k}`, JSON.stringify({ ...valid, [k]: 1 }), k)),
    wrongTypes.map((v) => spoiled('not an object', JSON.stringify(v))),
    midSize.map((n) =>
      spoiled('padded to 8-32 KB', JSON.stringify({ ...valid, padding: 'x'.repeat(n) }), 'padding'),
    ),
  ];
  const unstorable = unstorableLeaf(valid);
  if (unstorable) spoilers.push(unstorable);
  if (emptiable.length) {
    spoilers.push(
      fc
        .constantFrom(...emptiable)
        .map((k) => spoiled(`empty ${k}`, JSON.stringify({ ...valid, [k]: '' }), k)),
    );
  }
  if (required.length) {
    spoilers.push(
      fc.constantFrom(...required).map((k) => {
        const { [k]: _omitted, ...rest } = valid;
        return spoiled(`missing ${k}`, JSON.stringify(rest), k);
      }),
    );
  }
  if (tight.length) {
    spoilers.push(
      fc
        .tuple(fc.constantFrom(...tight), midSize)
        .map(([k, n]) =>
          spoiled(`8-32 KB ${k}`, JSON.stringify({ ...valid, [k]: 'x'.repeat(n) }), k),
        ),
    );
  }
  if (!options.inUrl) {
    // Past Node's 16 KB limit on a request's head, a URL is refused before any route sees it.
    spoilers.push(
      fc
        .constantFrom(...keys)
        .map((k) =>
          spoiled(`huge ${k}`, JSON.stringify({ ...valid, [k]: 'x'.repeat(100_000) }), k),
        ),
      fc.constant(
        spoiled(
          'over the body limit',
          JSON.stringify({ ...valid, padding: 'x'.repeat(1_100_000) }),
        ),
      ),
    );
  }
  return fc.oneof(...spoilers);
}

function credentialCases(endpoint: Endpoint): fc.Arbitrary<Case>[] {
  const bodyOf = (w: World) => (endpoint.body ? JSON.stringify(endpoint.body(w)) : undefined);
  if (endpoint.accepts === 'public') return [];
  if (endpoint.accepts === 'web') {
    // With a valid body, so that only the origin is wrong (signing up or logging in from
    // another site's page), with and without a session.
    return [
      fc.constant({
        endpoint,
        fault: 'session from another web origin',
        build: (w: World) => ({
          path: endpoint.path(w),
          headers: { ...validHeaders(endpoint, w), origin: 'https://evil.example.com' },
          body: bodyOf(w),
        }),
      }),
      fc.constant({
        endpoint,
        fault: 'another web origin',
        build: (w: World) => ({
          path: endpoint.path(w),
          headers: { 'content-type': 'application/json', origin: 'https://evil.example.com' },
          body: bodyOf(w),
        }),
      }),
    ];
  }
  if (endpoint.accepts === 'session' || endpoint.accepts === 'admin') {
    const base = { 'content-type': 'application/json', origin: APP_ORIGIN };
    const cases: fc.Arbitrary<Case>[] = [
      fc.constant({
        endpoint,
        fault: 'no session cookie',
        build: (w: World) => ({ path: endpoint.path(w), headers: base, body: bodyOf(w) }),
      }),
      garbageCookie.map((cookie) => ({
        endpoint,
        fault: 'unknown session cookie',
        build: (w: World) => ({
          path: endpoint.path(w),
          headers: { ...base, cookie },
          body: bodyOf(w),
        }),
      })),
      fc.constant({
        endpoint,
        fault: 'session from another web origin',
        build: (w: World) => ({
          path: endpoint.path(w),
          headers: { ...base, origin: 'https://evil.example.com', cookie: w.adminCookie },
          body: bodyOf(w),
        }),
      }),
      fc.constant({
        endpoint,
        fault: 'expired session',
        build: (w: World) => ({
          path: endpoint.path(w),
          headers: { ...base, cookie: late.expiredAdminCookie },
          body: bodyOf(w),
        }),
      }),
    ];
    if (endpoint.accepts === 'admin') {
      cases.push(
        fc.constant({
          endpoint,
          fault: 'non-admin session',
          build: (w: World) => ({
            path: endpoint.path(w),
            headers: { ...base, cookie: w.userCookie },
            body: bodyOf(w),
          }),
        }),
      );
    }
    return cases;
  }
  return [
    badCredential.map(([fault, credential]) => ({
      endpoint,
      fault,
      build: (w) => {
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          origin: APP_ORIGIN,
        };
        const value = credential(w);
        if (value !== undefined) headers.authorization = value;
        return { path: endpoint.path(w), headers, body: bodyOf(w) };
      },
    })),
  ];
}

/**
 * The valid credentials an endpoint's bad bodies, queries and paths are sent with: its own
 * kind, and for endpoints that take both a key and a client token, either (the two reach
 * the input by different checks, and both must refuse it).
 */
function holdersOf(
  endpoint: Endpoint,
): fc.Arbitrary<[string, (w: World) => Record<string, string>]> {
  const own: [string, (w: World) => Record<string, string>] = [
    '',
    (w) => validHeaders(endpoint, w),
  ];
  if (endpoint.accepts !== 'both') return fc.constant(own);
  return fc.constantFrom(own, [' (client token)', (w) => jsonHeaders(w.token)]);
}

/** A tRPC batch of two calls to one procedure, each with the same input. */
function batchOf(endpoint: Endpoint, w: World, inputText: string | undefined) {
  const procedure = endpoint.path(w).slice('/trpc/'.length).split('?')[0];
  let batched = inputText;
  try {
    if (inputText !== undefined) {
      const input = JSON.parse(inputText) as unknown;
      batched = JSON.stringify({ 0: input, 1: input });
    }
  } catch {
    // Malformed JSON stays malformed as the whole batch's input.
  }
  const path = `/trpc/${procedure},${procedure}?batch=1`;
  if (endpoint.method !== 'GET') return { path, body: batched };
  return { path: batched === undefined ? path : `${path}&input=${encodeURIComponent(batched)}` };
}

/** An endpoint's cases, weighted by how many kinds it has so small endpoints draw few. */
function casesFor(endpoint: Endpoint): fc.WeightedArbitrary<Case> {
  const arbitraries: fc.Arbitrary<Case>[] = credentialCases(endpoint);
  const holders = holdersOf(endpoint);
  const isTrpc = endpoint.path(world).startsWith('/trpc/');
  if (endpoint.body) {
    const body = endpoint.body;
    arbitraries.push(
      ...Array.from({ length: 4 }, () =>
        fc
          .tuple(
            fc.constant(null).chain(() =>
              spoilBody(body(world), {
                required: endpoint.requiredKeys,
                roomy: endpoint.roomy,
                clearable: endpoint.clearable,
              }),
            ),
            holders,
          )
          .map(([{ fault, text, field }, [holder, headersOf]]) => ({
            endpoint,
            fault: `${fault}${holder}`,
            field,
            build: (w: World) => ({
              path: endpoint.path(w),
              headers: headersOf(w),
              body: text,
            }),
          })),
      ),
      fc.constant({
        endpoint,
        fault: 'wrong content type',
        build: (w: World) => ({
          path: endpoint.path(w),
          headers: { ...validHeaders(endpoint, w), 'content-type': 'text/plain' },
          body: 'hello',
        }),
      }),
    );
  }
  if (endpoint.trpcQuery) {
    const { procedure, input, required } = endpoint.trpcQuery;
    arbitraries.push(
      ...Array.from({ length: 3 }, () =>
        fc
          .tuple(
            fc.constant(null).chain(() => spoilBody(input(world), { required, inUrl: true })),
            holders,
          )
          .map(([{ fault, text, field }, [holder, headersOf]]) => ({
            endpoint,
            fault: `${fault}${holder}`,
            field,
            build: (w: World) => ({
              path: `/trpc/${procedure}?input=${encodeURIComponent(text)}`,
              headers: headersOf(w),
            }),
          })),
      ),
    );
  }
  if (isTrpc && !endpoint.sse) {
    // Batched (`?batch=1`), each call of the batch must be refused as it is alone: its input
    // spoiled, or the batch sent without the credential the procedure needs.
    const valid = endpoint.body ?? endpoint.trpcQuery?.input;
    const spoilers: fc.Arbitrary<Case>[] = [];
    if (valid) {
      const required = endpoint.trpcQuery ? endpoint.trpcQuery.required : endpoint.requiredKeys;
      spoilers.push(
        fc
          .tuple(
            fc.constant(null).chain(() =>
              spoilBody(valid(world), {
                required,
                roomy: endpoint.roomy,
                clearable: endpoint.clearable,
                inUrl: endpoint.method === 'GET',
              }),
            ),
            holders,
          )
          .map(([{ fault, text, field }, [holder, headersOf]]) => ({
            endpoint,
            fault: `batch ${fault}${holder}`,
            field,
            build: (w: World) => ({ ...batchOf(endpoint, w, text), headers: headersOf(w) }),
          })),
      );
    }
    if (endpoint.accepts !== 'public') {
      const text = valid ? JSON.stringify(valid(world)) : undefined;
      spoilers.push(
        fc.constant({
          endpoint,
          fault: endpoint.accepts === 'web' ? 'batch from another origin' : 'batch unauthenticated',
          build: (w: World) => ({
            ...batchOf(endpoint, w, text),
            headers: {
              'content-type': 'application/json',
              origin: endpoint.accepts === 'web' ? 'https://evil.example.com' : APP_ORIGIN,
            },
          }),
        }),
      );
    }
    arbitraries.push(...spoilers);
  }
  if (endpoint.pathWith) {
    const pathWith = endpoint.pathWith;
    // "." and ".." are resolved away by the URL parser, leaving another route's path.
    const anyText = fc
      .string({ minLength: 1, maxLength: 300, unit: 'grapheme' })
      .filter((v) => v !== '.' && v !== '..');
    const param: fc.Arbitrary<[string, (w: World) => string]> = fc.oneof(
      anyText.map((v) => ['any text', () => v] as [string, (w: World) => string]),
      fc
        .tuple(fc.nat(), base62Char)
        .map(
          ([p, c]) =>
            ['near-miss token', (w: World) => mutateOneChar(w.token, p, c)] as [
              string,
              (w: World) => string,
            ],
        ),
      fc.constantFrom<[string, (w: World) => string]>(
        ['unknown token', () => generateToken('client')],
        ['a server key', (w) => w.acme.apiKey],
        ["another organization's", (w) => w.globexToken],
        ["another organization's agent", (w) => w.globex.agentId],
        ['long', () => 'a'.repeat(5_000)],
        ['with a NUL', (w) => `${w.acme.agentId}\u0000`],
      ),
    );
    arbitraries.push(
      ...Array.from({ length: 2 }, () => fc.tuple(param, holders)).map((p) =>
        p.map(([[kind, value], [holder, headersOf]]) => ({
          endpoint,
          fault: `path parameter ${kind}${holder}`,
          build: (w: World) => ({
            path: pathWith(w, value(w)),
            headers: headersOf(w),
            body: endpoint.body ? JSON.stringify(endpoint.body(w)) : undefined,
          }),
        })),
      ),
    );
  }
  arbitraries.push(
    fc.constant({
      endpoint,
      fault: 'wrong method',
      // tRPC answers queries on GET and mutations on POST only; REST takes PUT only to upsert
      // an identity, and DELETE nowhere that path has no id.
      method: !endpoint.path(world).startsWith('/trpc/')
        ? endpoint.method === 'PUT'
          ? 'DELETE'
          : 'PUT'
        : endpoint.method === 'GET'
          ? 'POST'
          : 'GET',
      build: (w: World) => ({ path: endpoint.path(w), headers: validHeaders(endpoint, w) }),
    }),
  );
  if (endpoint.query) {
    const query = endpoint.query;
    const notANumber = fc.oneof(
      fc.constantFrom('-1', 'NaN', '', '2.5', 'ten', '1e3', ' 5', '0x10'),
      headerSafeString.filter((v) => !/^\d+$/.test(v)),
    );
    const badValue = (key: string) =>
      fc.oneof(notANumber, fc.constantFrom(...(endpoint.badQuery?.[key] ?? ['-1'])));
    arbitraries.push(
      fc
        .tuple(
          fc.constantFrom(...Object.keys(query)).chain((k) => badValue(k).map((v) => [k, v])),
          holders,
        )
        .map(([[k = '', v = ''], [holder, headersOf]]) => ({
          endpoint,
          fault: `bad query ${k}=${v}${holder}`,
          build: (w) => ({
            path: `${endpoint.path(w)}?${new URLSearchParams({ ...query, [k]: v })}`,
            headers: headersOf(w),
          }),
        })),
    );
  }
  if (endpoint.textQuery) {
    const query = endpoint.query ?? {};
    arbitraries.push(
      fc
        .tuple(fc.constantFrom(...endpoint.textQuery), nulText, holders)
        .map(([k, v, [holder, headersOf]]) => ({
          endpoint,
          fault: `unstorable query ${k}${holder}`,
          field: k,
          build: (w: World) => ({
            path: `${endpoint.path(w)}?${new URLSearchParams({ ...query, [k]: v })}`,
            headers: headersOf(w),
          }),
        })),
    );
  }
  if (endpoint.accepts === 'apiKey') {
    arbitraries.push(
      fc.constant({
        endpoint,
        fault: 'client token on a server-key route',
        build: (w: World) => ({
          path: endpoint.path(w),
          headers: jsonHeaders(w.token),
          body: endpoint.body ? JSON.stringify(endpoint.body(w)) : undefined,
        }),
      }),
    );
  } else if (endpoint.accepts === 'both') {
    arbitraries.push(
      fc
        .oneof(
          fc.constant('https://evil.example.com'),
          fc.constant('null'),
          fc.webUrl().map((u) => new URL(u).origin),
        )
        .filter((o) => o !== APP_ORIGIN)
        .map((origin) => ({
          endpoint,
          fault: origin === 'null' ? 'origin null' : 'origin mismatched',
          build: (w) => ({ path: endpoint.path(w), headers: jsonHeaders(w.token, origin) }),
        })),
      fc.constant({
        endpoint,
        fault: 'missing origin',
        build: (w: World) => ({
          path: endpoint.path(w),
          headers: { authorization: `Bearer ${w.token}` },
        }),
      }),
      fc.constant({
        endpoint,
        fault: 'token of another organization',
        build: (w: World) => ({ path: endpoint.path(w), headers: jsonHeaders(w.globexToken) }),
      }),
    );
  }
  if (endpoint.agentIn) {
    arbitraries.push(
      fc.constant({
        endpoint,
        fault: 'API key of another organization',
        build: (w: World) => ({
          path: endpoint.path(w),
          headers: jsonHeaders(w.globex.apiKey),
          body: endpoint.body ? JSON.stringify(endpoint.body(w)) : undefined,
        }),
      }),
    );
  }
  return { arbitrary: fc.oneof(...arbitraries), weight: arbitraries.length };
}

/** The status and body of a refusal: the HTTP ones, or those of an SSE stream's error event. */
async function refusalOf(response: Response): Promise<{ status: number; text: string }> {
  if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
    return { status: response.status, text: await response.text() };
  }
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  let stream = '';
  const deadline = setTimeout(() => void reader?.cancel(), 5_000);
  try {
    for (;;) {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) break;
      stream += decoder.decode(chunk.value, { stream: true });
      const error = /event: serialized-error\ndata: (.*)\n/.exec(stream);
      if (error?.[1]) {
        const body = JSON.parse(error[1]) as { message: string; data: { httpStatus: number } };
        return { status: body.data.httpStatus, text: error[1] };
      }
    }
  } finally {
    clearTimeout(deadline);
    await reader?.cancel();
  }
  return { status: response.status, text: stream };
}

/** Whether a message names a field, as written or as a JSON string would quote it. */
function names(message: string, field: string): boolean {
  return message.includes(field) || message.includes(JSON.stringify(field).slice(1, -1));
}

function messageOf(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { message?: unknown; error?: { message?: unknown } };
  return typeof b.error === 'object' ? b.error?.message : b.message;
}

/** The messages of a body: one, or each call's of a tRPC batch (none for a call that succeeded). */
function messagesOf(body: unknown): unknown[] {
  return Array.isArray(body) ? body.map(messageOf) : [messageOf(body)];
}

/**
 * What only an internal error would show: Drizzle's failed query and its parameters, a stack
 * frame, a statement as Drizzle writes one (quoted identifiers).
 */
const INTERNALS = [
  /Failed query/i,
  /params:/i,
  /\n\s+at |"stack"/,
  /\b(select|insert into|update|delete from)\b[^"]{0,40}"[a-z_]+"/i,
];

function expectNoInternals(text: string, label: string) {
  for (const pattern of INTERNALS) expect(text, label).not.toMatch(pattern);
}

/** Credentials made after the world: a revoked API key and an administrator's expired session. */
const late = { revokedKey: '', expiredAdminCookie: '' };

beforeAll(async () => {
  const key = await createApiKey(deps, { organizationId: world.acme.organizationId, name: 'old' });
  await revokeApiKey(deps, { organizationId: world.acme.organizationId, id: key.id });
  const admin = await signUp(deps, {
    username: 'battery-admin-expired',
    password: 'a long password',
    role: 'admin',
  });
  clock.advance(-deps.accounts.sessionTtlMs - 60_000);
  const { sessionId } = await createSession(deps, { userId: admin.id });
  clock.reset();
  late.revokedKey = key.key;
  late.expiredAdminCookie = `scopekit_session=${sessionId}`;
});

/** The failure message for routes or procedures the battery does not know yet, saying where to add them. */
const missingEntries = (kind: string) =>
  `Each ${kind} below has no entry in ENDPOINTS (test/bad-input.test.ts), so the battery never ` +
  `feeds it bad input: add one per ${kind} to that table, like the entries beside it ` +
  `(name, method, path, accepts, and its body or query if it takes one)`;

/** A route's template as a pattern matching its concrete paths (`:agentId` is one segment). */
const templatePattern = (template: string) =>
  new RegExp(`^${template.replace(/:[A-Za-z]+/g, '[^/]+')}$`);

/** `METHOD /path` of every route the app registered, read from Fastify's printed route tree. */
function registeredRoutes(tree: string): string[] {
  const prefixes: string[] = [];
  const routes: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([^)]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    const path = (prefixes[depth - 1] ?? '') + (match[2] ?? '');
    prefixes[depth] = path;
    prefixes.length = depth + 1;
    for (const method of (match[3] ?? '').split(', ').filter(Boolean))
      routes.push(`${method} ${path}`);
  }
  return routes;
}

describe('bad input battery', () => {
  it('covers every route Fastify registered and every tRPC procedure', () => {
    const routes = registeredRoutes(server.app.printRoutes({ commonPrefix: false }));
    // HEAD mirrors each GET; OPTIONS * is the CORS preflight; tRPC's one route is checked
    // by procedure below.
    const rest = routes.filter(
      (r) => !r.startsWith('HEAD ') && r !== 'OPTIONS *' && !r.includes(' /trpc/'),
    );
    expect(rest.length).toBeGreaterThan(10);
    const restEndpoints = ENDPOINTS.filter((e) => !e.path(world).startsWith('/trpc/'));
    const serves = (route: string, e: Endpoint) => {
      const [method, template = ''] = route.split(' ');
      return e.method === method && templatePattern(template).test(e.path(world));
    };
    expect(
      rest.filter((route) => !restEndpoints.some((e) => serves(route, e))),
      missingEntries('REST route'),
    ).toEqual([]);
    expect(
      restEndpoints.filter((e) => !rest.some((route) => serves(route, e))).map((e) => e.name),
      'These ENDPOINTS entries match no registered route: fix their method or path, or remove them',
    ).toEqual([]);

    const listed = ENDPOINTS.flatMap((e) => {
      const path = e.path(world);
      return path.startsWith('/trpc/') ? [path.slice('/trpc/'.length).split('?')[0] ?? ''] : [];
    });
    const procedures = Object.keys(appRouter._def.procedures);
    expect(
      procedures.filter((p) => !listed.includes(p)),
      missingEntries('tRPC procedure'),
    ).toEqual([]);
    expect(
      listed.filter((p, i) => !procedures.includes(p) || listed.indexOf(p) !== i),
      'These ENDPOINTS entries name a procedure appRouter does not have, or one listed before',
    ).toEqual([]);
  });

  it('refuses a value the database cannot store in every field of every route, naming it', {
    timeout: 300_000,
  }, async () => {
    clock.freeze();
    await deps.lastUsed.flush();
    const before = await databaseFingerprint(deps.db);
    let tried = 0;
    const refuse = async (
      endpoint: Endpoint,
      request: { path: string; body?: string },
      field: string,
    ) => {
      const sendsBody = endpoint.method !== 'GET' && request.body !== undefined;
      const { 'content-type': _json, ...bare } = validHeaders(endpoint, world);
      const response = await fetch(`${server.baseUrl}${request.path}`, {
        method: endpoint.method,
        headers: sendsBody ? validHeaders(endpoint, world) : bare,
        body: sendsBody ? request.body : undefined,
      });
      const { status, text } = await refusalOf(response);
      const label = `${endpoint.name} / ${field} ${JSON.stringify(request)} → ${status} ${text.slice(0, 200)}`;
      expect(status, label).toBe(400);
      for (const message of messagesOf(JSON.parse(text))) {
        expect(names(String(message), field), label).toBe(true);
        expect(String(message), label).toMatch(/NUL|surrogate|finite/);
      }
      expectNoInternals(text, label);
      tried++;
    };
    for (const endpoint of ENDPOINTS) {
      const valid = endpoint.body?.(world) ?? endpoint.trpcQuery?.input(world);
      for (const { path, value } of valid ? leavesOf(valid) : []) {
        const texts = UNSTORABLE_CHARS.map((c) => JSON.stringify(withLeaf(valid, path, `x${c}y`)));
        if (typeof value === 'number')
          texts.push(withHugeNumbers(JSON.stringify(withLeaf(valid, path, HUGE))));
        for (const text of texts) {
          await refuse(
            endpoint,
            endpoint.trpcQuery
              ? { path: `/trpc/${endpoint.trpcQuery.procedure}?input=${encodeURIComponent(text)}` }
              : { path: endpoint.path(world), body: text },
            fieldOf(path),
          );
        }
      }
      if (endpoint.pathWith) {
        const param = /:(\w+)/.exec(
          registeredRoutes(server.app.printRoutes({ commonPrefix: false })).find((r) =>
            templatePattern(r.split(' ')[1] ?? '').test(endpoint.path(world)),
          ) ?? '',
        )?.[1];
        await refuse(
          endpoint,
          {
            path: endpoint.pathWith(world, 'x\u0000y'),
            body: endpoint.body && JSON.stringify(endpoint.body(world)),
          },
          param ?? 'path',
        );
      }
      for (const key of endpoint.textQuery ?? []) {
        const query = new URLSearchParams({ ...endpoint.query, [key]: 'x\u0000y' });
        await refuse(endpoint, { path: `${endpoint.path(world)}?${query}` }, key);
      }
    }
    await deps.lastUsed.flush();
    expect(await databaseFingerprint(deps.db)).toBe(before);
    console.log(`unstorable values: ${tried} requests over ${ENDPOINTS.length} endpoints`);
    expect(tried).toBeGreaterThan(60);
  });

  // A thousand requests, each followed by a fingerprint of the whole database: minutes on a
  // busy 2-core machine with embedded PGlite, so the default 30 s guard is raised.
  it('refuses every generated bad request with a 4xx and a message, changing nothing', {
    timeout: 300_000,
  }, async () => {
    let tried = 0;
    const faults = new Map<string, number>();
    // A refused request whose credential checked out still counts as a use of it: verifyBearer
    // records the use before the input is read, and `last_used_at` answers "is this credential
    // still in use?", which a client sending broken bodies is. So time stands still for the
    // battery, every credential is used and its use written first, and the write-behind is
    // flushed after each case: a use recorded again rewrites the same instant, and the
    // fingerprint moves only if a refusal changed something else, whenever the timer fires.
    clock.freeze();
    for (const [key, org] of [
      [world.token, world.acme],
      [world.globexToken, world.globex],
    ] as const) {
      await fetch(`${server.baseUrl}/v1/agents/${org.agentId}`, { headers: jsonHeaders(key) });
      await fetch(`${server.baseUrl}/v1/agents/${org.agentId}`, {
        headers: jsonHeaders(org.apiKey),
      });
    }
    await deps.lastUsed.flush();
    const before = await databaseFingerprint(deps.db);
    await fc.assert(
      fc.asyncProperty(fc.oneof(...ENDPOINTS.map(casesFor)), async (c) => {
        const { path, headers, body } = c.build(world);
        const method = c.method ?? c.endpoint.method;
        const response = await fetch(`${server.baseUrl}${path}`, {
          method,
          headers,
          body: method === 'GET' ? undefined : body,
        });
        const { status, text } = await refusalOf(response);
        const label = `${c.endpoint.name} / ${c.fault} → ${status} ${text.slice(0, 200)}`;
        expect(status, label).toBeGreaterThanOrEqual(400);
        expect(status, label).toBeLessThan(500);
        for (const message of messagesOf(JSON.parse(text))) {
          expect(typeof message === 'string' && message.length > 0, label).toBe(true);
          // A 400 about one field says which (413 and 431 refuse sizes before any field is read).
          if (c.field !== undefined && status === 400)
            expect(names(String(message), c.field), label).toBe(true);
        }
        expectNoInternals(text, label);
        await deps.lastUsed.flush();
        expect(await databaseFingerprint(deps.db), label).toBe(before);
        tried++;
        const kind = c.fault.split(/[ =]/).slice(0, 2).join(' ');
        faults.set(kind, (faults.get(kind) ?? 0) + 1);
      }),
      { numRuns: 1000 },
    );
    console.log(
      `bad-input battery: ${tried} cases over ${ENDPOINTS.length} endpoints (${[...faults].map(([k, n]) => `${k} ${n}`).join(', ')})`,
    );
    expect(tried).toBe(1000);
  });
});
