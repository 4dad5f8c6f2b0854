import { fileURLToPath } from 'node:url'
import { mergeConfig, defineConfig, configDefaults } from 'vitest/config'
import viteConfig from './vite.config.ts'

export default mergeConfig(
  viteConfig,
  defineConfig({
    test: {
      root: fileURLToPath(new URL('./', import.meta.url)),
      exclude: [...configDefaults.exclude, 'e2e/**'],
      projects: [
        {
          extends: true,
          test: {
            name: 'web',
            environment: 'jsdom',
            // A hang fails its test by name; generous, as CI shares two cores with the other suites.
            testTimeout: 20_000,
            include: ['src/**/__tests__/*.spec.ts'],
          },
        },
        {
          test: {
            name: 'server',
            environment: 'node',
            testTimeout: 20_000,
            include: ['server/**/__tests__/*.spec.mjs'],
          },
        },
      ],
    },
  }),
)
