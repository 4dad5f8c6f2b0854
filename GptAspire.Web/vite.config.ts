import { fileURLToPath, URL } from 'node:url'

import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// https://vite.dev/config/
// The dev server is server/index.mjs (Vite in middleware mode): it proxies /api and serves health.
export default defineConfig({
  plugins: [vue()],
  resolve: {
    alias: {
      '@': fileURLToPath(new URL('./src', import.meta.url)),
    },
  },
  build: {
    // server/index.mjs gives hashed files under assets/ an immutable cache lifetime.
    assetsDir: 'assets',
  },
})
