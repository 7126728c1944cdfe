import { createResource, createSignal, For, onMount, Show } from 'solid-js';
import { type AdminToken, describeError, isUnauthorized, sessionApi, type User } from '../lib/api';
import { Header } from './Header';

const PAGE_SIZE = 20;

const formatter = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });
const when = (iso: string | null) => (iso ? formatter.format(new Date(iso)) : '—');

export function AdminPage(props: { user: User; onLoggedOut: (message?: string) => void }) {
  const [agentId, setAgentId] = createSignal<string>('');
  const [offset, setOffset] = createSignal(0);
  const [error, setError] = createSignal<string>();
  const [status, setStatus] = createSignal('');
  let heading!: HTMLHeadingElement;

  const [users] = createResource(() => sessionApi.admin.users.list.query());
  const [page, { refetch }] = createResource(
    () => ({ agentId: agentId() || undefined, offset: offset() }),
    (query) => sessionApi.admin.tokens.list.query({ ...query, limit: PAGE_SIZE }),
  );
  const ownerOf = (id: string | undefined) =>
    users()?.find((u) => u.agentId === id)?.username ?? id ?? '—';

  onMount(() => heading.focus());

  async function revoke(token: AdminToken) {
    setError(undefined);
    try {
      await sessionApi.admin.tokens.revoke.mutate({ id: token.id });
      setStatus(`Revoked ${token.hint}.`);
      await refetch();
    } catch (caught) {
      if (isUnauthorized(caught)) props.onLoggedOut('Your session has ended. Log in again.');
      else setError(`Could not revoke ${token.hint}: ${describeError(caught)}`);
    }
  }

  async function logOut() {
    try {
      await sessionApi.session.logOut.mutate();
    } finally {
      props.onLoggedOut('You have logged out.');
    }
  }

  return (
    <div class="app">
      <Header user={props.user} page="admin" onLogOut={logOut} />
      <main class="admin" aria-labelledby="admin-title">
        <h1 id="admin-title" tabIndex={-1} ref={heading}>
          Live tokens
        </h1>
        <div class="filters">
          <label for="agent-filter">Agent</label>
          <select
            id="agent-filter"
            value={agentId()}
            onChange={(event) => {
              setOffset(0);
              setAgentId(event.currentTarget.value);
            }}
          >
            <option value="">All agents</option>
            <For each={users()}>
              {(user) => <option value={user.agentId}>{user.username}'s agent</option>}
            </For>
          </select>
          <button type="button" class="secondary" onClick={() => refetch()}>
            Refresh
          </button>
        </div>
        <p class="sr-only" role="status">
          {status()}
        </p>
        <Show when={error() ?? (page.error ? describeError(page.error) : undefined)}>
          {(message) => (
            <p role="alert" class="error">
              {message()}
            </p>
          )}
        </Show>
        <div class="table-wrap">
          <table aria-busy={page.loading}>
            <caption class="sr-only">
              Client-side tokens that are neither expired nor revoked, newest first
            </caption>
            <thead>
              <tr>
                <th scope="col">Token</th>
                <th scope="col">Agent</th>
                <th scope="col">Hostname</th>
                <th scope="col">Access</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              <For
                each={page.latest?.tokens}
                fallback={
                  <tr>
                    <td colSpan={7}>{page.loading ? 'Loading…' : 'No live tokens.'}</td>
                  </tr>
                }
              >
                {(token) => (
                  <tr data-token-id={token.id}>
                    <td>
                      <code>{token.hint}</code>
                    </td>
                    <td>{token.policy.data.map((entry) => ownerOf(entry.id)).join(', ')}</td>
                    <td>{token.hostname}</td>
                    <td>{[...new Set(token.policy.data.flatMap((e) => e.access))].join(', ')}</td>
                    <td>{when(token.expiresAt)}</td>
                    <td>{when(token.lastUsedAt)}</td>
                    <td>
                      <button
                        type="button"
                        class="danger"
                        aria-label={`Revoke ${token.hint}`}
                        onClick={() => revoke(token)}
                      >
                        Revoke
                      </button>
                    </td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
        <nav class="pager" aria-label="Pages">
          <button
            type="button"
            class="secondary"
            disabled={offset() === 0}
            onClick={() => setOffset(Math.max(0, offset() - PAGE_SIZE))}
          >
            Newer
          </button>
          <button
            type="button"
            class="secondary"
            disabled={!page.latest?.hasNextPage}
            onClick={() => setOffset(offset() + PAGE_SIZE)}
          >
            Older
          </button>
        </nav>
      </main>
    </div>
  );
}
