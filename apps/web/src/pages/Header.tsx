import type { JSX } from 'solid-js';
import { For } from 'solid-js';
import type { User } from '../lib/api';
import { currentPath, maySee, navigate, routeFor, useRoutes } from '../lib/router';
import { LogOut } from './LogOut';
import './Header.css';

/** The bar over every signed-in page: a link per page the person may see, and log-out. */
export function Header(props: {
  user: User;
  onLoggedOut: (message?: string) => void;
  children?: JSX.Element;
}) {
  const routes = useRoutes();
  const shown = () => routeFor(routes, currentPath(), props.user);
  const go = (path: string) => (event: MouseEvent) => {
    event.preventDefault();
    navigate(path);
  };
  return (
    <header class="bar">
      <nav aria-label="Main">
        <For each={routes.filter((route) => maySee(route, props.user))}>
          {(route) => (
            <a
              href={route.path}
              onClick={go(route.path)}
              aria-current={shown() === route ? 'page' : undefined}
            >
              {route.link}
            </a>
          )}
        </For>
      </nav>
      {props.children}
      <span class="who">{props.user.username}</span>
      <LogOut onLoggedOut={props.onLoggedOut} />
    </header>
  );
}
