import { badRequest } from '../errors.js';
import type { LettaHost } from './letta-host.js';

/** The tag that ties an agent on Letta to the scopekit user it was created for. */
export const userTag = (userId: string) => `scopekit-user:${userId}`;

/**
 * A new person's agent, created on Letta with the same memory a scopekit-hosted agent
 * starts with: a persona, and what it knows of the person. Returns Letta's agent id.
 */
export async function createLettaAgent(
  host: LettaHost,
  args: { userId: string; username: string },
): Promise<string> {
  const agent = await host.call('create the agent', (client) =>
    client.agents.create({
      name: `${args.username}'s agent`,
      memory_blocks: [
        { label: 'persona', value: 'I am a friendly assistant.' },
        { label: 'human', value: `The person I talk to is called ${args.username}.` },
      ],
      tags: [userTag(args.userId)],
      metadata: { scopekit_user_id: args.userId, username: args.username },
    }),
  );
  return agent.id;
}

/**
 * Undoes `createLettaAgent` when the account it was for could not be written (the username
 * was taken meanwhile). Best effort: the sign-up's own error is what the person needs.
 */
export async function deleteLettaAgent(host: LettaHost, agentId: string): Promise<void> {
  await host.call('delete the agent', (client) => client.agents.delete(agentId)).catch(() => {});
}

/** The session's rename (`session.renameAgent`), done at Letta with the server's key. */
export async function renameLettaAgent(
  host: LettaHost,
  args: { agentId: string; name: string },
): Promise<{ agentId: string; name: string }> {
  const name = args.name.trim();
  if (name === '' || name.length > 100) throw badRequest('must be 1 to 100 characters', 'name');
  const agent = await host.call('rename the agent', (client) =>
    client.agents.update(args.agentId, { name }),
  );
  return { agentId: agent.id, name: agent.name };
}
