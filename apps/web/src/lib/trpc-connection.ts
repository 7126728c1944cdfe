import type { AgentConnection } from './agent-connection';
import { createAgentApi } from './api';

/**
 * The agent connection to scopekit's own agent API (`messages.*` over tRPC, the live stream
 * over SSE). You probably don't need to edit this unless the server's `messages` router
 * changes shape.
 */
export function createTrpcConnection(agentId: string): AgentConnection {
  return {
    history: (token, page) => createAgentApi(token).messages.list.query({ agentId, ...page }),

    async send(token, { content, otid }, onEvent) {
      const response = await createAgentApi(token).messages.send.mutate({
        agentId,
        content,
        otid,
      });
      for (const message of response.messages) onEvent({ type: 'message', message });
      return { stopReason: response.stop_reason.stop_reason };
    },

    events(token, lastEventId, listener) {
      const subscription = createAgentApi(token).messages.events.subscribe(
        { agentId, lastEventId },
        {
          onStarted: () => listener.started(),
          onData: ({ id, data }) => listener.event(id, data),
          onConnectionStateChange: (state) => {
            if (state.state === 'pending') listener.connected();
            // tRPC would retry by itself; the chat retries instead, with a fresh token if
            // this one was refused.
            else if (state.state === 'connecting' && state.error) listener.lost(state.error);
          },
          onError: (cause) => listener.lost(cause),
          onComplete: () => listener.lost(undefined),
        },
      );
      return { close: () => subscription.unsubscribe() };
    },

    async cancel(token, runId) {
      await createAgentApi(token).messages.cancel.mutate({ agentId, runIds: [runId] });
    },

    // The browser's token has `read_agent`, which is what reading the agent takes.
    async memory(token) {
      const agent = await createAgentApi(token).agents.retrieve.query({ agentId });
      return agent.blocks.map(({ label, value }) => ({ label, value }));
    },

    async agentName(token) {
      return (await createAgentApi(token).agents.retrieve.query({ agentId })).name;
    },
  };
}
