import { For, Show } from 'solid-js';
import type { AgentMemory } from '../../lib/agent-memory';

/**
 * What the agent remembers: each memory block's label and text, as the agent last wrote it
 * (`lib/agent-memory.ts` reads it again whenever a memory tool runs). Folded away by default,
 * so the conversation keeps the room.
 */
export function MemoryPanel(props: { memory: AgentMemory }) {
  return (
    <details class="memory">
      <summary>What your agent remembers</summary>
      <Show when={props.memory.error()}>
        <p class="error">{props.memory.error()}</p>
      </Show>
      <dl aria-label="Agent memory" aria-live="polite" aria-busy={!props.memory.blocks()}>
        <For each={props.memory.blocks()}>
          {(block) => (
            <div data-label={block.label}>
              <dt>{block.label}</dt>
              <dd>{block.value.trim() || <span class="meta">(nothing yet)</span>}</dd>
            </div>
          )}
        </For>
      </dl>
    </details>
  );
}
