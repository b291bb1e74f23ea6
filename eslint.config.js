// One lint config for the whole monorepo. The import rules below are the architecture's layering,
// enforced by lint rather than prose (ARCHITECTURE.md §4).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

/** Shared libraries under packages/: anything may import these. */
const LIBRARIES = [
  'errors',
  'http-kit',
  'store',
  'raft',
  'etcd-proto',
  'log',
  'config',
  'test-utils',
  'authz',
];

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/.data/**', '**/.cache/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports (ARCHITECTURE.md §4).' },
      ],
    },
  },
  {
    // A service reaches another service only through its -api package; never by relative path.
    files: ['services/**/*.ts', 'apps/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@photoncloud/*', '!@photoncloud/*-api', ...LIBRARIES.map((l) => `!@photoncloud/${l}`)],
              message: 'Import another service only through its -api package (ARCHITECTURE.md §4).',
            },
            {
              regex: '^(\\.\\./)+(services|packages|apps)/',
              message: 'Cross-package imports go through the package name, never a relative path.',
            },
          ],
        },
      ],
    },
  },
  {
    // The CLI starts services as processes; it may import their entry points to run them in-process.
    files: ['apps/cli/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // Shared libraries never depend on services.
    files: ['packages/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@photoncloud/*', ...LIBRARIES.map((l) => `!@photoncloud/${l}`)],
              message: 'Shared libraries must not import services.',
            },
            {
              regex: '^(\\.\\./)+(services|packages|apps)/',
              message: 'Cross-package imports go through the package name, never a relative path.',
            },
          ],
        },
      ],
    },
  },
  {
    // Pure cores: no I/O, no clock, no sockets (ARCHITECTURE.md §4).
    files: [
      'services/*/src/core/**/*.ts',
      'packages/raft/src/core/**/*.ts',
      'packages/authz/src/core/**/*.ts',
    ],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'src/core is pure: no node:* imports.' })),
          patterns: [
            {
              group: ['../routes/*', '../storage/*', '../runtime/*', '../grpc/*'],
              message: 'src/core may not import I/O edges.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'src/core has no clock: take time as an input.' },
        { name: 'setInterval', message: 'src/core has no clock: take time as an input.' },
        { name: 'process', message: 'src/core is pure.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'src/core has no clock: take time as an input.' },
        { object: 'Math', property: 'random', message: 'src/core takes a seeded random source.' },
      ],
    },
  },
);
