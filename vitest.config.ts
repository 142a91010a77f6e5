import { defineConfig } from 'vitest/config';

// The e2e suites talk over HTTP to a running stack: GATEWAY_URL, POSTGREST_URL
// and DATABASE_URL (superuser, for asserting database state) must be set.
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Files run in parallel against one stack; each test makes its own users.
    fileParallelism: true,
  },
});
