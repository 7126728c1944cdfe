import type { Route } from './lib/router';
import { AdminPage } from './pages/Admin';
import { ChatPage } from './pages/Chat';

/**
 * Every signed-in page, in the order of the header's links. The one at `/` is the home page,
 * where an unknown path lands too. Adding a page is one entry here (and its component in `pages/`,
 * given `PageProps`): the path, the title, the link and who may see it follow from it.
 */
export const routes: readonly Route[] = [
  { path: '/', title: 'Chat', link: 'Chat', page: ChatPage },
  { path: '/admin', title: 'Live tokens', link: 'Tokens', adminOnly: true, page: AdminPage },
];
