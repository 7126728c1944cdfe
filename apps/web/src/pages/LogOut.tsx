import { createSignal, Show } from 'solid-js';
import { describeError, sessionApi } from '../lib/api';

/** Log out here, or everywhere: every session of the person, on every device, and their tokens. */
type Scope = 'here' | 'everywhere';

const CALL: Record<Scope, () => Promise<unknown>> = {
  here: () => sessionApi.session.logOut.mutate(),
  everywhere: () => sessionApi.session.logOutEverywhere.mutate(),
};
const DONE: Record<Scope, string> = {
  here: 'You have logged out.',
  everywhere: 'You have logged out everywhere.',
};

/**
 * The ways out of a signed-in page. The log-in page comes only once the server has ended
 * the session (and with it every token it minted): until then the session is still valid,
 * so a failure says so and offers to try the same again rather than pretending it worked.
 */
export function LogOut(props: { onLoggedOut: (message?: string) => void }) {
  const [busy, setBusy] = createSignal(false);
  const [failed, setFailed] = createSignal<Scope>();
  const [error, setError] = createSignal('');
  let retry: HTMLButtonElement | undefined;

  async function logOut(scope: Scope) {
    // aria-disabled, unlike disabled, leaves the pressed button focused, and still lets it
    // be pressed: one log-out at a time.
    if (busy()) return;
    setBusy(true);
    // Emptied rather than removed: "Try again" stays where the focus is, and the same failure
    // once more is new text in the alert, so it is announced again.
    setError('');
    try {
      await CALL[scope]();
    } catch (caught) {
      setBusy(false);
      setFailed(scope);
      setError(`Could not log out, so you are still logged in: ${describeError(caught)}`);
      retry?.focus();
      return;
    }
    props.onLoggedOut(DONE[scope]);
  }

  return (
    <>
      <button type="button" class="secondary" aria-disabled={busy()} onClick={() => logOut('here')}>
        Log out
      </button>
      <button
        type="button"
        class="secondary"
        aria-disabled={busy()}
        onClick={() => logOut('everywhere')}
      >
        Log out everywhere
      </button>
      <Show when={failed()}>
        {(scope) => (
          <p class="error log-out-error">
            <span role="alert">{error()}</span>{' '}
            <button
              type="button"
              class="link"
              ref={retry}
              aria-disabled={busy()}
              onClick={() => logOut(scope())}
            >
              {busy() ? 'Logging out…' : 'Try again'}
            </button>
          </p>
        )}
      </Show>
    </>
  );
}
