import { createRoot } from 'solid-js';
import { describe, expect, it, vi } from 'vitest';
import { createChatSession } from '../src/lib/chat-session';
import { fakeConnection, stored, tokenStore } from './chat-support';

/** A chat session over the fake connection, started, with its send of `content` under way. */
async function chatSending(content: string) {
  const fake = fakeConnection();
  const tokens = tokenStore();
  const { chat, dispose } = createRoot((dispose) => ({
    chat: createChatSession({ connection: fake.connection, tokens }),
    dispose,
  }));
  chat.start();
  await vi.waitFor(() => expect(fake.listener).toBeDefined());
  const sent = chat.send(content);
  await vi.waitFor(() => expect(fake.sends).toHaveLength(1));
  const otid = fake.sends[0]?.otid ?? '';
  const close = () => {
    dispose();
    tokens.close();
  };
  return { fake, chat, sent, otid, close };
}

describe('stopping a reply', () => {
  it('cancels the run that stored this tab’s message, and settles without an error', async () => {
    const { fake, chat, sent, otid, close } = await chatSending('talk a while');
    // Another client's turn is running: its run must not be the one stopped.
    fake.live(
      stored({ message_type: 'user_message', content: 'other', otid: 'x', run_id: 'run-other' }),
    );
    fake.live(
      stored({
        message_type: 'user_message',
        content: 'talk a while',
        otid,
        run_id: 'run-mine',
        seq_id: 2,
      }),
    );
    chat.stop();
    expect(chat.stopping()).toBe(true);
    await vi.waitFor(() => expect(fake.cancels).toEqual(['run-mine']));
    chat.stop();
    expect(fake.cancels).toEqual(['run-mine']);
    fake.sends[0]?.finish('cancelled');
    expect(await sent).toBe(true);
    expect(chat.sending()).toBe(false);
    expect(chat.stopping()).toBe(false);
    expect(chat.error()).toBeUndefined();
    close();
  });

  it('waits for a queued send’s turn to start before cancelling it', async () => {
    const { fake, chat, sent, otid, close } = await chatSending('queued');
    chat.stop();
    await Promise.resolve();
    expect(fake.cancels).toEqual([]);
    fake.live(
      stored({ message_type: 'user_message', content: 'queued', otid, run_id: 'run-late' }),
    );
    await vi.waitFor(() => expect(fake.cancels).toEqual(['run-late']));
    fake.sends[0]?.finish('cancelled');
    await sent;
    close();
  });

  it('does nothing when no send of this tab is under way', async () => {
    const { fake, chat, sent, close } = await chatSending('hello');
    fake.sends[0]?.finish('end_turn');
    await sent;
    chat.stop();
    expect(chat.stopping()).toBe(false);
    expect(fake.cancels).toEqual([]);
    close();
  });
});
