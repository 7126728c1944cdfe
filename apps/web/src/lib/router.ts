import { createSignal } from 'solid-js';

export type Page = 'login' | 'chat' | 'admin';

const pageOf = (path: string): Page =>
  path === '/admin' ? 'admin' : path === '/login' ? 'login' : 'chat';
const pathOf = (page: Page) => (page === 'chat' ? '/' : `/${page}`);

const [path, setPath] = createSignal(location.pathname);
window.addEventListener('popstate', () => setPath(location.pathname));

/** Three pages need no router library: the path is a signal, links push history. */
export const currentPage = () => pageOf(path());

export function navigate(page: Page, options: { replace?: boolean } = {}) {
  const next = pathOf(page);
  if (location.pathname !== next) {
    if (options.replace) history.replaceState(null, '', next);
    else history.pushState(null, '', next);
  }
  setPath(next);
}
