import { createEffect } from 'solid-js';

/** The tab's title names the page, so a screen reader (and the tab strip) says where one is. */
export function usePageTitle(title: () => string) {
  createEffect(() => {
    document.title = `${title()} · scopekit chat`;
  });
}
