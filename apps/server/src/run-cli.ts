import { Console } from 'node:console';
import { parseArgs } from 'node:util';
import { type AccessOf, isAccessOf, type PolicyEntry, RESOURCE_TYPES } from '@scopekit/policy';
import {
  ensureOrganization,
  findOrganization,
  type Organization,
} from './accounts/organizations.js';
import { setPassword, signUp } from './accounts/users.js';
import { createAgent } from './agents/agent-write.js';
import type { Config } from './config/config-types.js';
import { loadConfig } from './config.js';
import type { Database } from './db/client.js';
import { openRuntime, type Runtime } from './runtime.js';
import { StartRefusal } from './start-refusal.js';
import { createApiKey, listApiKeys, revokeApiKey } from './tokens/api-keys.js';
import { mintClientToken } from './tokens/client-tokens.js';

const USAGE = `Usage: pnpm cli <command> [options]

Commands:
  keys create  [--org NAME] [--name NAME]     create a server-side API key (shown once)
  keys list    [--org NAME]                   list the organization's API keys
  keys revoke  --id KEY_ID [--org NAME]       revoke an API key
  agents create --name NAME [--org NAME]      create an agent
  tokens mint  --agent AGENT_ID --hostname URL [--access LIST] [--expires-in SECONDS] [--org NAME]
                                              mint a client-side token (access defaults to
                                              read_messages,write_messages,read_agent)

  users create --username NAME [--admin]     create a web user (with their own agent)
  users password --username NAME             set a web user's password
                                              (users: the password is read from --password,
                                              or else from the first line of standard input)

--org defaults to "default"; keys create and agents create create the organization if it is new,
the other commands refuse one that does not exist (web users always belong to SCOPEKIT_ORGANIZATION). The CLI opens the same database as the server (DATABASE_URL,
or the embedded one under DATA_DIR, which only one process may open at a time).`;

/** Where a run reads and writes: the process's own streams, or a test's. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: AsyncIterable<string | Buffer>;
  env: NodeJS.ProcessEnv;
  /** Opens the database and services once the command line is checked; tests bring their own. */
  open?: (config: Config) => Promise<Runtime>;
}

/** A refusal of the command line: exit 2, with the usage. */
class UsageError extends Error {}

function fail(message: string): never {
  throw new UsageError(message);
}

const options = {
  org: { type: 'string', default: 'default' },
  name: { type: 'string' },
  id: { type: 'string' },
  agent: { type: 'string' },
  hostname: { type: 'string' },
  access: { type: 'string', default: 'read_messages,write_messages,read_agent' },
  'expires-in': { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  admin: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseCommandLine>['values'];

function parseCommandLine(args: string[]) {
  try {
    return parseArgs({ args, allowPositionals: true, options });
  } catch (error) {
    // An unknown flag or a flag without its value: say so in a line, not a stack trace.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      fail((error as Error).message);
    }
    throw error;
  }
}

/** Same bounds as SCOPEKIT_ORGANIZATION, checked before anything is opened or created. */
function organizationName(values: Values): string {
  const name = values.org.trim();
  if (!name || name.length > 100) fail('--org must be 1 to 100 characters');
  return name;
}

function required(values: Values, name: 'name' | 'id' | 'agent' | 'hostname' | 'username') {
  const value = values[name];
  if (!value) fail(`--${name} is required`);
  return value;
}

function parseAgentAccess(list: string): AccessOf<'agent'>[] {
  const items = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = items.find((item) => !isAccessOf('agent', item));
  if (bad !== undefined)
    fail(`--access: "${bad}" is not one of ${RESOURCE_TYPES.agent.join(', ')}`);
  return items.filter((item) => isAccessOf('agent', item));
}

/** From --password, or the first line of standard input, so it need not sit in shell history. */
async function readPassword(values: Values, stdin: CliIo['stdin']): Promise<string> {
  if (values.password !== undefined) return values.password;
  let input = '';
  for await (const chunk of stdin) {
    input += chunk;
    if (input.includes('\n')) break;
  }
  return input.split('\n')[0] ?? '';
}

/** A command with every argument it needs, or a refusal (exit 2) before anything is opened. */
type Plan =
  | { command: 'keys create'; name: string }
  | { command: 'keys list' }
  | { command: 'keys revoke'; id: string }
  | { command: 'agents create'; name: string }
  | { command: 'tokens mint'; policy: PolicyEntry[]; hostname: string; ttlMs: number | undefined }
  | { command: 'users create'; username: string; password: string; admin: boolean }
  | { command: 'users password'; username: string; password: string };

async function plan(command: string, values: Values, stdin: CliIo['stdin']): Promise<Plan> {
  switch (command) {
    case 'keys create':
      return { command, name: values.name ?? 'cli' };
    case 'keys list':
      return { command };
    case 'keys revoke':
      return { command, id: required(values, 'id') };
    case 'agents create':
      return { command, name: required(values, 'name') };
    case 'tokens mint': {
      const expiresIn = values['expires-in'];
      if (expiresIn !== undefined && !/^\d+$/.test(expiresIn))
        fail('--expires-in must be whole seconds');
      return {
        command,
        hostname: required(values, 'hostname'),
        policy: [
          { type: 'agent', id: required(values, 'agent'), access: parseAgentAccess(values.access) },
        ],
        ttlMs: expiresIn ? Number(expiresIn) * 1000 : undefined,
      };
    }
    case 'users create':
      return {
        command,
        username: required(values, 'username'),
        password: await readPassword(values, stdin),
        admin: values.admin,
      };
    case 'users password':
      return {
        command,
        username: required(values, 'username'),
        password: await readPassword(values, stdin),
      };
    default:
      return fail(`Unknown command "${command}"`);
  }
}

/** Runs one command line; resolves with the exit code (0, 1 when the command failed, 2 when it was refused). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const out = new Console({ stdout: io.stdout, stderr: io.stderr });
  // Everything the command line says is checked here, before the database is opened: a
  // refusal returns at once, and nothing opened is left for it to skip closing.
  let todo: Plan;
  let orgName: string;
  try {
    const { positionals, values } = parseCommandLine(argv);
    const command = positionals.join(' ');
    if (values.help || !command) {
      out.log(USAGE);
      return 0;
    }
    orgName = organizationName(values);
    todo = await plan(command, values, io.stdin);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    out.error(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  let runtime: Runtime;
  try {
    runtime = await (io.open ?? ((c) => openRuntime(c, { serve: false })))(loadConfig(io.env));
  } catch (error) {
    // The data folder in use, a setting missing or wrong: the reason in a line, no stack trace.
    if (!(error instanceof StartRefusal)) throw error;
    out.error(error.message);
    return 1;
  }
  try {
    await execute(todo, orgName, runtime, out);
    return 0;
  } catch (error) {
    out.error(error instanceof Error ? error.message : error);
    return 1;
  } finally {
    await runtime.close();
  }
}

async function execute(todo: Plan, orgName: string, { deps }: Runtime, out: Console) {
  // Only the commands that put something in an organization may create it, and only together
  // with that thing: a typo elsewhere, or a refused name, must change nothing.
  const inNewOrExisting = <T>(create: (db: Database, org: Organization) => Promise<T>) =>
    deps.db.transaction(async (tx) => {
      const org = await ensureOrganization({ db: tx }, orgName);
      return { org, created: await create(tx, org) };
    });
  const existing = async (): Promise<Organization> => {
    const found = await findOrganization(deps, orgName);
    if (!found) {
      throw new Error(
        `No organization "${orgName}": \`keys create\` or \`agents create\` with --org creates one`,
      );
    }
    return found;
  };
  switch (todo.command) {
    case 'keys create': {
      const { org, created: key } = await inNewOrExisting((db, org) =>
        createApiKey({ db }, { organizationId: org.id, name: todo.name }),
      );
      out.log(`Created API key ${key.id} (${key.name}) for organization "${org.name}".`);
      out.log('It is shown only this once; store it as a secret:');
      out.log(key.key);
      break;
    }
    case 'keys list': {
      const org = await existing();
      const keys = await listApiKeys(deps, { organizationId: org.id });
      out.table(
        keys.map((k) => ({
          id: k.id,
          name: k.name,
          key: k.hint,
          created: k.createdAt.toISOString(),
          lastUsed: k.lastUsedAt?.toISOString() ?? '-',
          revoked: k.revokedAt?.toISOString() ?? '-',
        })),
      );
      break;
    }
    case 'keys revoke': {
      const org = await existing();
      const key = await revokeApiKey(deps, { organizationId: org.id, id: todo.id });
      out.log(`Revoked API key ${key.id} (${key.name}).`);
      break;
    }
    case 'agents create': {
      const { created: agent } = await inNewOrExisting((db, org) =>
        createAgent({ db }, { organizationId: org.id, name: todo.name }),
      );
      out.log(agent.id);
      break;
    }
    case 'tokens mint': {
      const org = await existing();
      const token = await mintClientToken(deps, {
        organizationId: org.id,
        hostname: todo.hostname,
        policy: todo.policy,
        ttlMs: todo.ttlMs,
        expiryField: '--expires-in',
      });
      out.log(JSON.stringify(token, null, 2));
      break;
    }
    case 'users create': {
      const user = await signUp(deps, {
        username: todo.username,
        password: todo.password,
        role: todo.admin ? 'admin' : 'user',
      });
      out.log(`Created ${user.role} ${user.username} (${user.id}) with agent ${user.agentId}.`);
      break;
    }
    case 'users password': {
      const user = await setPassword(deps, { username: todo.username, password: todo.password });
      out.log(`Changed the password of ${user.username}.`);
      break;
    }
  }
}
