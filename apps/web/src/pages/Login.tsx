import { createSignal, onMount, Show } from 'solid-js';
import { describeError, httpStatusOf, sessionApi, type User } from '../lib/api';
import { usePageTitle } from '../lib/title';
import './Login.css';

type Field = 'username' | 'password';

/**
 * The fields an error is about: the one the server's message names ("password: must be…"),
 * both for a wrong username or password (which of them is not said), none for the rest (a
 * limit reached, sign-up closed, the server unreachable).
 */
function fieldsAtFault(error: unknown): Field[] {
  const named = /^(username|password): /.exec(describeError(error))?.[1];
  if (named) return [named as Field];
  return httpStatusOf(error) === 401 ? ['username', 'password'] : [];
}

export function LoginPage(props: {
  onLoggedIn: (user: User) => void;
  notice?: string | undefined;
}) {
  const [mode, setMode] = createSignal<'logIn' | 'signUp'>('logIn');
  const [error, setError] = createSignal<string>();
  const [invalid, setInvalid] = createSignal<Field[]>([]);
  const [busy, setBusy] = createSignal(false);
  let username!: HTMLInputElement;
  let password!: HTMLInputElement;

  onMount(() => username.focus());
  usePageTitle(() => (mode() === 'logIn' ? 'Log in' : 'Create an account'));

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    setError(undefined);
    setInvalid([]);
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
      const fields = fieldsAtFault(caught);
      setInvalid(fields);
      // Back to the field to correct (the password, unless only the username is at fault), its
      // text selected so typing replaces it.
      const field = fields.length === 1 && fields[0] === 'username' ? username : password;
      field.focus();
      field.select();
    } finally {
      setBusy(false);
    }
  }

  const switchMode = () => {
    setMode(mode() === 'logIn' ? 'signUp' : 'logIn');
    setError(undefined);
    setInvalid([]);
    username.focus();
  };

  /** The ids that describe a field: the error when it is about that field, and any hint. */
  const describedBy = (field: Field, hint?: string) =>
    [invalid().includes(field) ? 'auth-error' : undefined, hint].filter(Boolean).join(' ') ||
    undefined;

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
          aria-invalid={invalid().includes('username') || undefined}
          aria-describedby={describedBy('username')}
        />
        <label for="password">Password</label>
        <input
          id="password"
          ref={password}
          name="password"
          type="password"
          autocomplete={mode() === 'logIn' ? 'current-password' : 'new-password'}
          required
          aria-invalid={invalid().includes('password') || undefined}
          aria-describedby={describedBy(
            'password',
            mode() === 'signUp' ? 'password-hint' : undefined,
          )}
        />
        <Show when={mode() === 'signUp'}>
          <p id="password-hint" class="hint">
            At least 8 characters.
          </p>
        </Show>
        <Show when={error()}>
          <p id="auth-error" role="alert" class="error">
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
