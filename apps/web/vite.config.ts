import { defaultClientConditions, defineConfig } from 'vite';
import solid from 'vite-plugin-solid';
import { precompress } from './precompress.ts';

// One setting per port, read here and by the server (apps/server/src/config.ts, same
// defaults): PORT moves the server, and this proxy follows it; SCOPEKIT_WEB_PORT moves this
// dev server, and the server's default web origins follow it.
const server = `http://127.0.0.1:${process.env.PORT || 8283}`;
const port = Number(process.env.SCOPEKIT_WEB_PORT || 5173);

export default defineConfig({
  plugins: [solid(), precompress()],
  // The policy package from its source: no build before dev, a test or the app's build.
  resolve: { conditions: ['@scopekit/source', ...defaultClientConditions] },
  server: {
    port,
    strictPort: true,
    // The browser sees one origin (this one). The Host header is kept (no changeOrigin) so a
    // same-origin request without an Origin header still resolves to the web origin.
    proxy: {
      '/trpc': { target: server },
      '/v1': { target: server },
    },
  },
  build: {
    target: 'es2022',
    // The bundle check reads the sourcemaps to prove no server code went in. Hidden: the
    // scripts do not point to them, and the server does not serve them.
    sourcemap: 'hidden',
  },
});
