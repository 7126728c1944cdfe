import { onMount, Show } from 'solid-js';
import type { ChatSession } from '../../lib/chat-session';

/**
 * The message box: Enter sends, Shift+Enter starts a new line. It keeps the focus unless the
 * person moves it. While the reply is coming, Stop ends it where it is.
 */
export function Composer(props: { chat: ChatSession; onSend: () => void }) {
  let input!: HTMLTextAreaElement;
  onMount(() => input.focus());

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const content = input.value.trim();
    const sent = props.chat.send(content);
    if (!sent) {
      input.focus();
      return;
    }
    input.value = '';
    props.onSend();
    if (!(await sent) && !input.value) input.value = content;
    // Back to the box once the turn settles, unless the person has moved on meanwhile (to
    // Log out, Try again, the header): pulling the focus away would drop them mid-action.
    const active = document.activeElement;
    if (active === null || active === document.body || active === input) input.focus();
  }

  function onKeyDown(event: KeyboardEvent) {
    // An IME composition is left alone. Enter's requestSubmit() does not care that the
    // button is disabled: the session sends one message at a time.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      input.form?.requestSubmit();
    }
  }

  return (
    <form class="composer" onSubmit={submit}>
      <label for="message" class="sr-only">
        Message
      </label>
      <textarea
        id="message"
        ref={input}
        rows={2}
        placeholder="Message your agent"
        onKeyDown={onKeyDown}
        maxLength={8000}
      />
      <button type="submit" disabled={props.chat.sending()}>
        Send
      </button>
      <Show when={props.chat.sending()}>
        {/* aria-disabled rather than disabled: a disabled button would drop the focus. */}
        <button
          type="button"
          class="secondary"
          aria-disabled={props.chat.stopping()}
          onClick={() => props.chat.stop()}
        >
          {props.chat.stopping() ? 'Stopping…' : 'Stop'}
        </button>
      </Show>
    </form>
  );
}
