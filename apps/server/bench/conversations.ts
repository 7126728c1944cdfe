import { createAgent } from '../src/agents/agent-write.js';
import type { ServiceDeps } from '../src/deps.js';
import { mintClientToken } from '../src/tokens/client-tokens.js';
import { ORIGIN } from './harness.js';

/** A token's policy holds at most 100 entries, so each token covers this many agents. */
const AGENTS_A_TOKEN = 100;

export interface Conversations {
  agentIds: string[];
  /** A client token that may read and write agent `i`'s conversation. */
  tokenOf(i: number): string;
}

let made: Promise<Conversations> | undefined;
let madeCount = 0;

/**
 * `count` agents (one conversation each) for the steps with many conversations, and client
 * tokens to read and write them, as a chat app's people hold them: made once per run, the
 * steps that need them share them.
 */
export function benchConversations(
  deps: ServiceDeps,
  organizationId: string,
  count: number,
): Promise<Conversations> {
  if (!made || madeCount < count) {
    madeCount = count;
    made = make(deps, organizationId, count);
  }
  return made;
}

async function make(deps: ServiceDeps, organizationId: string, count: number) {
  const agentIds: string[] = [];
  // A few at a time: the database is shared with whatever else the machine runs.
  for (let i = 0; i < count; i += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, count - i) }, (_, j) =>
        createAgent(deps, { organizationId, name: `conversation ${i + j}` }),
      ),
    );
    agentIds.push(...batch.map((agent) => agent.id));
  }
  const tokens: string[] = [];
  for (let i = 0; i < count; i += AGENTS_A_TOKEN) {
    const minted = await mintClientToken(deps, {
      organizationId,
      hostname: ORIGIN,
      policy: agentIds.slice(i, i + AGENTS_A_TOKEN).map((id) => ({
        type: 'agent' as const,
        id,
        access: ['read_messages' as const, 'write_messages' as const],
      })),
      expiresAt: new Date(Date.now() + 60 * 60_000),
    });
    tokens.push(minted.token);
  }
  return {
    agentIds,
    tokenOf: (i: number) => tokens[Math.floor(i / AGENTS_A_TOKEN)] as string,
  };
}
