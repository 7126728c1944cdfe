import type { ServiceDeps } from '../deps.js';
import { identitiesOfAgents } from '../identities/agent-links.js';
import { toIdentityStates } from '../identities/identities.js';
import { type AgentRow, type AgentState, toAgentState } from './agents.js';

/**
 * Agents as Letta shows them, with what is kept beside their rows (their identities), read
 * in two queries however many agents there are.
 */
export async function agentStates(
  deps: Pick<ServiceDeps, 'db' | 'agentRuntime'>,
  rows: AgentRow[],
): Promise<AgentState[]> {
  const links = await identitiesOfAgents(
    deps.db,
    rows.map((r) => r.id),
  );
  const distinct = [...new Map(links.map((l) => [l.identity.id, l.identity])).values()];
  const states = new Map((await toIdentityStates(deps.db, distinct)).map((i) => [i.id, i]));
  return rows.map((row) =>
    toAgentState(
      deps,
      row,
      links.flatMap((l) => (l.agentId === row.id ? (states.get(l.identity.id) ?? []) : [])),
    ),
  );
}

export async function agentState(
  deps: Pick<ServiceDeps, 'db' | 'agentRuntime'>,
  row: AgentRow,
): Promise<AgentState> {
  const [state] = await agentStates(deps, [row]);
  return state as AgentState;
}
