import { type Component, createContext, createSignal, useContext } from 'solid-js';
import type { AgentTokenStore } from './agent-token';
import type { User } from './api';

/** What every signed-in page is given. */
export interface PageProps {
  user: User;
  tokens: AgentTokenStore;
  onLoggedOut: (message?: string) => void;
}

/** A signed-in page, as `routes.ts` declares it. */
export interface Route {
  path: string;
  /** The tab's title while the page is shown. */
  title: string;
  /** The page's link in the header. */
  link: string;
  adminOnly?: boolean;
  page: Component<PageProps>;
}

/** Where someone who is not signed in is sent; the log-in page titles itself. */
export const LOGIN_PATH = '/login';
/** Where one lands after logging in, and on a path no page has. */
export const HOME_PATH = '/';

const [path, setPath] = createSignal(location.pathname);
window.addEventListener('popstate', () => setPath(location.pathname));

/** A few pages need no router library: the path is a signal, links push history. */
export const currentPath = path;

export function navigate(next: string, options: { replace?: boolean } = {}) {
  if (location.pathname !== next) {
    if (options.replace) history.replaceState(null, '', next);
    else history.pushState(null, '', next);
  }
  setPath(next);
}

/** Whether `user` may see the page (admin pages are for admins). */
export const maySee = (route: Route, user: User) => !route.adminOnly || user.role === 'admin';

/**
 * The route the path names, if `user` may see it; otherwise (an unknown path, an admin page
 * for someone else) the home page.
 */
export function routeFor(routes: readonly Route[], at: string, user: User): Route {
  const route = routes.find((r) => r.path === at);
  if (route && maySee(route, user)) return route;
  const home = routes.find((r) => r.path === HOME_PATH);
  if (!home) throw new Error(`routes.ts declares no page at ${HOME_PATH}`);
  return home;
}

/** The routes table, for the header's links (provided by App, which imports `routes.ts`). */
const RoutesContext = createContext<readonly Route[]>([]);
export const RoutesProvider = RoutesContext.Provider;
export const useRoutes = () => useContext(RoutesContext);
