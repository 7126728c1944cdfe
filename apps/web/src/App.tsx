import {
  createEffect,
  createMemo,
  createResource,
  createSignal,
  Match,
  on,
  onCleanup,
  onMount,
  Switch,
} from 'solid-js';
import { AgentTokenStore } from './lib/agent-token';
import { describeError, sessionApi, type User } from './lib/api';
import { currentPage, navigate } from './lib/router';
import { AdminPage } from './pages/Admin';
import { ChatPage } from './pages/Chat';
import { LoginPage } from './pages/Login';

export function App() {
  const [me, { mutate, refetch }] = createResource(() => sessionApi.session.me.query());
  const [notice, setNotice] = createSignal<string>();

  const loggedIn = (user: User) => {
    setNotice(undefined);
    mutate(user);
    navigate('chat', { replace: true });
  };
  /** The session is gone (logged out here or elsewhere, or expired): back to the log-in page. */
  const loggedOut = (message?: string) => {
    setNotice(message);
    mutate(null);
    navigate('login', { replace: true });
  };

  // One agent token per signed-in user, outliving page changes: going from the chat to the
  // admin page and back reuses the live token rather than minting (and leaking) another.
  const tokens = createMemo(
    on(
      () => (me.state === 'ready' ? me()?.id : undefined),
      (userId) => {
        if (!userId) return undefined;
        const store = new AgentTokenStore(
          () => sessionApi.session.token.mutate(),
          () => loggedOut('Your session has ended. Log in again.'),
        );
        onCleanup(() => store.close());
        return store;
      },
    ),
  );

  // The path follows the session: the log-in page without one, never with one, and the
  // admin page only for admins.
  createEffect(() => {
    // Reading a failed resource throws; until a retry succeeds there is no user to route by,
    // and the page says why (below).
    if (me.error) return;
    const user = me();
    if (user === undefined) return;
    if (user === null && currentPage() !== 'login') navigate('login', { replace: true });
    if (user && currentPage() === 'login') navigate('chat', { replace: true });
    if (user && user.role !== 'admin' && currentPage() === 'admin')
      navigate('chat', { replace: true });
  });

  return (
    <Switch>
      <Match when={me.error}>
        <main class="center">
          {/* Emptied while retrying, so the same failure once more is new text, announced again. */}
          <p role="alert" class="error">
            {me.loading ? '' : describeError(me.error)}
          </p>
          {/* aria-disabled rather than disabled: a disabled button would drop the focus. */}
          <button
            type="button"
            ref={(button) => onMount(() => button.focus())}
            aria-disabled={me.loading}
            onClick={() => {
              if (!me.loading) refetch();
            }}
          >
            {me.loading ? 'Trying again…' : 'Try again'}
          </button>
        </main>
      </Match>
      <Match when={me.loading}>
        <main class="center" aria-busy="true">
          <p>Loading…</p>
        </main>
      </Match>
      <Match when={me() === null}>
        <LoginPage onLoggedIn={loggedIn} notice={notice()} />
      </Match>
      <Match when={me()}>
        {(user) => (
          <Switch>
            <Match when={currentPage() === 'admin' && user().role === 'admin'}>
              <AdminPage user={user()} onLoggedOut={loggedOut} />
            </Match>
            <Match when={tokens()}>
              {(store) => <ChatPage user={user()} tokens={store()} onLoggedOut={loggedOut} />}
            </Match>
          </Switch>
        )}
      </Match>
    </Switch>
  );
}
