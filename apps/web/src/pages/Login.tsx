import { createSignal, onMount, Show } from 'solid-js';
import { describeError, sessionApi, type User } from '../lib/api';
import { usePageTitle } from '../lib/title';

export function LoginPage(props: {
  onLoggedIn: (user: User) => void;
  notice?: string | undefined;
}) {
  const [mode, setMode] = createSignal<'logIn' | 'signUp'>('logIn');
  const [error, setError] = createSignal<string>();
  const [busy, setBusy] = createSignal(false);
  let username!: HTMLInputElement;
  let password!: HTMLInputElement;

  onMount(() => username.focus());
  usePageTitle(() => (mode() === 'logIn' ? 'Log in' : 'Create an account'));

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      const credentials = { username: username.value, password: password.value };
      const { user } =
        mode() === 'logIn'
          ? await sessionApi.session.logIn.mutate(credentials)
          : await sessionApi.session.signUp.mutate(credentials);
      props.onLoggedIn(user);
    } catch (caught) {
      setError(describeError(caught));
      password.select();
    } finally {
      setBusy(false);
    }
  }

  const switchMode = () => {
    setMode(mode() === 'logIn' ? 'signUp' : 'logIn');
    setError(undefined);
    username.focus();
  };

  return (
    <main class="center">
      <form class="card auth" onSubmit={submit} aria-labelledby="auth-title" novalidate>
        <h1 id="auth-title">{mode() === 'logIn' ? 'Log in' : 'Create an account'}</h1>
        <Show when={props.notice}>
          <p role="status" class="notice">
            {props.notice}
          </p>
        </Show>
        <label for="username">Username</label>
        <input
          id="username"
          ref={username}
          name="username"
          autocomplete="username"
          autocapitalize="none"
          spellcheck={false}
          required
        />
        <label for="password">Password</label>
        <input
          id="password"
          ref={password}
          name="password"
          type="password"
          autocomplete={mode() === 'logIn' ? 'current-password' : 'new-password'}
          aria-describedby={mode() === 'signUp' ? 'password-hint' : undefined}
          required
        />
        <Show when={mode() === 'signUp'}>
          <p id="password-hint" class="hint">
            At least 8 characters.
          </p>
        </Show>
        <Show when={error()}>
          <p role="alert" class="error">
            {error()}
          </p>
        </Show>
        <button type="submit" disabled={busy()}>
          {mode() === 'logIn' ? 'Log in' : 'Sign up'}
        </button>
        <p class="switch">
          {mode() === 'logIn' ? 'No account yet?' : 'Already have an account?'}{' '}
          <button type="button" class="link" onClick={switchMode}>
            {mode() === 'logIn' ? 'Sign up' : 'Log in'}
          </button>
        </p>
      </form>
    </main>
  );
}
