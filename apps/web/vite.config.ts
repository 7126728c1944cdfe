import { defaultClientConditions, defineConfig } from 'vite';
import solid from 'vite-plugin-solid';
import { precompress } from './precompress.ts';

const server = process.env.SCOPEKIT_SERVER_URL ?? 'http://127.0.0.1:8283';

export default defineConfig({
  plugins: [solid(), precompress()],
  // The policy package from its source: no build before dev, a test or the app's build.
  resolve: { conditions: ['@scopekit/source', ...defaultClientConditions] },
  server: {
    port: 5173,
    strictPort: true,
    // The browser sees one origin (5173). The Host header is kept (no changeOrigin) so a
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
