import { defineConfig } from 'vite';

// Built into dist/ and served by the gateway at / under its CSP (script-src 'self', style-src
// 'self'): no inline scripts or styles, so no module-preload polyfill script and CSS as files.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
