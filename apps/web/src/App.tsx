import {
  createEffect,
  createMemo,
  createResource,
  createSignal,
  Match,
  on,
  onCleanup,
  onMount,
  Show,
  Switch,
} from 'solid-js';
import { Dynamic } from 'solid-js/web';
import { AgentTokenStore } from './lib/agent-token';
import { describeError, sessionApi, setAgentHost, type User } from './lib/api';
import {
  currentPath,
  HOME_PATH,
  LOGIN_PATH,
  navigate,
  type PageProps,
  RoutesProvider,
  routeFor,
} from './lib/router';
import { usePageTitle } from './lib/title';
import { LoginPage } from './pages/Login';
import { routes } from './routes';

/** The signed-in page the path names (see `routes.ts`), titled after it. */
function SignedIn(props: PageProps) {
  const route = createMemo(() => routeFor(routes, currentPath(), props.user));
  usePageTitle(() => route().title);
  return (
    <RoutesProvider value={routes}>
      <Dynamic
        component={route().page}
        user={props.user}
        tokens={props.tokens}
        onLoggedOut={props.onLoggedOut}
      />
    </RoutesProvider>
  );
}

export function App() {
  const [me, { mutate, refetch }] = createResource(() => sessionApi.session.me.query());
  const [notice, setNotice] = createSignal<string>();

  const loggedIn = (user: User) => {
    setNotice(undefined);
    mutate(user);
    navigate(HOME_PATH, { replace: true });
  };
  /** The session is gone (logged out here or elsewhere, or expired): back to the log-in page. */
  const loggedOut = (message?: string) => {
    setNotice(message);
    mutate(null);
    navigate(LOGIN_PATH, { replace: true });
  };

  // One agent token per signed-in user, outliving page changes: going from the chat to the
  // admin page and back reuses the live token rather than minting (and leaking) another.
  const tokens = createMemo(
    on(
      () => (me.state === 'ready' ? me()?.id : undefined),
      (userId) => {
        if (!userId) return undefined;
        const store = new AgentTokenStore(
          async () => {
            const minted = await sessionApi.session.token.mutate();
            setAgentHost(minted);
            return minted;
          },
          () => loggedOut('Your session has ended. Log in again.'),
        );
        onCleanup(() => store.close());
        return store;
      },
    ),
  );

  // The path follows the session: the log-in page without one, never with one, and admin
  // pages only for admins.
  createEffect(() => {
    // Reading a failed resource throws; until a retry succeeds there is no user to route by,
    // and the page says why (below).
    if (me.error) return;
    const user = me();
    if (user === undefined) return;
    const at = currentPath();
    if (user === null && at !== LOGIN_PATH) navigate(LOGIN_PATH, { replace: true });
    if (user && at === LOGIN_PATH) navigate(HOME_PATH, { replace: true });
    if (user && routes.some((route) => route.path === at && route !== routeFor(routes, at, user)))
      navigate(HOME_PATH, { replace: true });
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
          <Show when={tokens()}>
            {(store) => <SignedIn user={user()} tokens={store()} onLoggedOut={loggedOut} />}
          </Show>
        )}
      </Match>
    </Switch>
  );
}
