import { createSignal, Show } from 'solid-js';
import { describeError, sessionApi } from '../lib/api';

/**
 * The one way out of a signed-in page. The log-in page comes only once the server has ended
 * the session (and with it every token it minted): until then the session is still valid,
 * so a failure says so and offers to try again rather than pretending it worked.
 */
export function LogOut(props: { onLoggedOut: (message?: string) => void }) {
  const [busy, setBusy] = createSignal(false);
  const [failed, setFailed] = createSignal(false);
  const [error, setError] = createSignal('');
  let retry: HTMLButtonElement | undefined;

  async function logOut() {
    // aria-disabled, unlike disabled, leaves the pressed button focused, and still lets it
    // be pressed: one log-out at a time.
    if (busy()) return;
    setBusy(true);
    // Emptied rather than removed: "Try again" stays where the focus is, and the same failure
    // once more is new text in the alert, so it is announced again.
    setError('');
    try {
      await sessionApi.session.logOut.mutate();
    } catch (caught) {
      setBusy(false);
      setFailed(true);
      setError(`Could not log out, so you are still logged in: ${describeError(caught)}`);
      retry?.focus();
      return;
    }
    props.onLoggedOut('You have logged out.');
  }

  return (
    <>
      <button type="button" class="secondary" aria-disabled={busy()} onClick={logOut}>
        Log out
      </button>
      <Show when={failed()}>
        <p class="error log-out-error">
          <span role="alert">{error()}</span>{' '}
          <button type="button" class="link" ref={retry} aria-disabled={busy()} onClick={logOut}>
            {busy() ? 'Logging out…' : 'Try again'}
          </button>
        </p>
      </Show>
    </>
  );
}
