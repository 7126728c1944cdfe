import { createEffect, createResource, createSignal, For, onMount, Show } from 'solid-js';
import { type AdminToken, describeError, isUnauthorized, sessionApi } from '../lib/api';
import type { PageProps } from '../lib/router';
import { Header } from './Header';
import './Admin.css';

const PAGE_SIZE = 20;

const formatter = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });
const when = (iso: string | null) => (iso ? formatter.format(new Date(iso)) : '—');

/** Under SCOPEKIT_AGENT_HOST=letta: whether Letta still lists the token (null: not known). */
const AT_LETTA: Record<string, string> = { true: 'live', false: 'gone', null: 'unknown' };

export function AdminPage(props: PageProps) {
  const [agentId, setAgentId] = createSignal<string>('');
  const [offset, setOffset] = createSignal(0);
  const [error, setError] = createSignal<string>();
  const [status, setStatus] = createSignal('');
  let heading!: HTMLHeadingElement;
  let rows!: HTMLTableSectionElement;

  const [users] = createResource(() => sessionApi.admin.users.list.query());
  const [page, { refetch }] = createResource(
    () => ({ agentId: agentId() || undefined, offset: offset() }),
    (query) => sessionApi.admin.tokens.list.query({ ...query, limit: PAGE_SIZE }),
  );
  // Reading a failed resource throws, which would stop the page from reacting to the failure.
  const shown = () => (page.error ? undefined : page.latest);
  /** The list is Letta's (SCOPEKIT_AGENT_HOST=letta): the server joins what Letta reports. */
  const onLetta = () => shown()?.tokens.some((token) => 'atLetta' in token) ?? false;
  const lettaError = () => (shown() as { lettaError?: string } | undefined)?.lettaError;
  const userList = () => (users.error ? undefined : users());
  const ownerOf = (id: string | undefined) =>
    userList()?.find((u) => u.agentId === id)?.username ?? id ?? '—';

  onMount(() => heading.focus());

  // The session ended (logged out in another tab, expired): back to log-in, as revoke does.
  const sessionEnded = () => props.onLoggedOut('Your session has ended. Log in again.');
  createEffect(() => {
    if (isUnauthorized(page.error) || isUnauthorized(users.error)) sessionEnded();
  });

  async function revoke(token: AdminToken) {
    setError(undefined);
    const listed = shown()?.tokens ?? [];
    const after = listed.slice(listed.findIndex((t) => t.id === token.id) + 1).map((t) => t.id);
    try {
      await sessionApi.admin.tokens.revoke.mutate({ id: token.id });
      setStatus(`Revoked ${token.hint}.`);
      await refetch();
      // The row that had focus is gone: the next row's Revoke takes it, or the heading.
      const next = after
        .map((id) => rows.querySelector<HTMLButtonElement>(`tr[data-token-id="${id}"] button`))
        .find((button) => button !== null);
      (next ?? heading).focus();
    } catch (caught) {
      if (isUnauthorized(caught)) sessionEnded();
      else setError(`Could not revoke ${token.hint}: ${describeError(caught)}`);
    }
  }

  return (
    <div class="app">
      <Header user={props.user} onLoggedOut={props.onLoggedOut} />
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
            <For each={userList()}>
              {(user) => <option value={user.agentId}>{user.username}'s agent</option>}
            </For>
          </select>
          <button type="button" class="secondary" onClick={() => refetch()}>
            Refresh
          </button>
        </div>
        <p class="hint admin-hint">
          Each open tab holds a token and replaces it shortly before it expires. A replaced token,
          like that of a tab closed without logging out, stays listed until it expires by itself.
          Last use is written at most once a minute, so it may lag by that much.
        </p>
        <p class="sr-only" role="status">
          {status()}
        </p>
        <Show when={lettaError()}>
          {(message) => (
            <p role="alert" class="error">
              Letta could not be asked which tokens it still has: {message()}
            </p>
          )}
        </Show>
        <Show when={error() ?? (page.error ? describeError(page.error) : undefined)}>
          {(message) => (
            <p role="alert" class="error">
              {message()}
            </p>
          )}
        </Show>
        <div class="table-wrap">
          {/* The roles are spelled out because on a phone the rows are laid out as blocks,
              and Safari then drops the table's semantics (biome.json lets them be). */}
          <table role="table" aria-busy={page.loading}>
            <caption class="sr-only">
              Client-side tokens that are neither expired nor revoked, newest first
            </caption>
            <thead role="rowgroup">
              <tr role="row">
                <th scope="col" role="columnheader">
                  Token
                </th>
                <th scope="col" role="columnheader">
                  Agent
                </th>
                <th scope="col" role="columnheader">
                  Hostname
                </th>
                <th scope="col" role="columnheader">
                  Access
                </th>
                <th scope="col" role="columnheader">
                  Expires
                </th>
                <th scope="col" role="columnheader">
                  {onLetta() ? 'At Letta' : 'Last used'}
                </th>
                <th scope="col" role="columnheader">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody role="rowgroup" ref={rows}>
              <For
                each={shown()?.tokens}
                fallback={
                  <tr role="row">
                    <td role="cell" colSpan={7}>
                      {page.loading
                        ? 'Loading…'
                        : page.error
                          ? 'Could not load the tokens.'
                          : 'No live tokens.'}
                    </td>
                  </tr>
                }
              >
                {(token) => (
                  <tr role="row" data-token-id={token.id}>
                    <td role="cell" data-label="Token">
                      <code>{token.hint}</code>
                    </td>
                    <td role="cell" data-label="Agent">
                      {token.policy.data.map((entry) => ownerOf(entry.id)).join(', ')}
                    </td>
                    <td role="cell" data-label="Hostname">
                      {token.hostname}
                    </td>
                    <td role="cell" data-label="Access">
                      {[...new Set(token.policy.data.flatMap((e) => e.access))].join(', ')}
                    </td>
                    <td role="cell" data-label="Expires">
                      {when(token.expiresAt)}
                    </td>
                    <td role="cell" data-label={onLetta() ? 'At Letta' : 'Last used'}>
                      {'atLetta' in token
                        ? AT_LETTA[String(token.atLetta)]
                        : when(token.lastUsedAt)}
                    </td>
                    <td role="cell">
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
            disabled={!shown()?.hasNextPage}
            onClick={() => setOffset(offset() + PAGE_SIZE)}
          >
            Older
          </button>
        </nav>
      </main>
    </div>
  );
}
