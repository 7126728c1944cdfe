import { createSignal, Show } from 'solid-js';
import { describeError, sessionApi } from '../lib/api';

/**
 * The one way out of a signed-in page. The log-in page comes only once the server has ended
 * the session (and with it every token it minted): until then the session is still valid,
 * so a failure says so and offers to try again rather than pretending it worked.
 */
export function LogOut(props: { onLoggedOut: (message?: string) => void }) {
  const [busy, setBusy] = createSignal(false);
  const [error, setError] = createSignal<string>();

  async function logOut() {
    setBusy(true);
    setError(undefined);
    try {
      await sessionApi.session.logOut.mutate();
    } catch (caught) {
      setError(`Could not log out, so you are still logged in: ${describeError(caught)}`);
      setBusy(false);
      return;
    }
    props.onLoggedOut('You have logged out.');
  }

  return (
    <>
      <button type="button" class="secondary" disabled={busy()} onClick={logOut}>
        Log out
      </button>
      <Show when={error()}>
        {(message) => (
          <p role="alert" class="error log-out-error">
            {message()}{' '}
            <button type="button" class="link" disabled={busy()} onClick={logOut}>
              Try again
            </button>
          </p>
        )}
      </Show>
    </>
  );
}
