import type { JSX } from 'solid-js';
import { Show } from 'solid-js';
import type { User } from '../lib/api';
import { navigate } from '../lib/router';
import { LogOut } from './LogOut';

export function Header(props: {
  user: User;
  page: 'chat' | 'admin';
  onLoggedOut: (message?: string) => void;
  children?: JSX.Element;
}) {
  const go = (page: 'chat' | 'admin') => (event: MouseEvent) => {
    event.preventDefault();
    navigate(page);
  };
  return (
    <header class="bar">
      <nav aria-label="Main">
        <a href="/" onClick={go('chat')} aria-current={props.page === 'chat' ? 'page' : undefined}>
          Chat
        </a>
        <Show when={props.user.role === 'admin'}>
          <a
            href="/admin"
            onClick={go('admin')}
            aria-current={props.page === 'admin' ? 'page' : undefined}
          >
            Tokens
          </a>
        </Show>
      </nav>
      {props.children}
      <span class="who">{props.user.username}</span>
      <LogOut onLoggedOut={props.onLoggedOut} />
    </header>
  );
}
