import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boolFlag, formatHelp, parseCommandArgs, stringFlag } from './args.js';
import type { CommandSpec } from './args.js';
import { UsageError } from './cli-error.js';

const spec: CommandSpec = {
  name: 'demo',
  summary: 'demo',
  usage: 'demo <thing> [options]',
  maxPositionals: 1,
  options: {
    'data-dir': { type: 'string', valueName: 'DIR', description: 'where' },
    json: { type: 'boolean', description: 'json' },
  },
  examples: ['photoncloud demo x'],
};

test('flags and positionals are parsed; --flag=value works', () => {
  const a = parseCommandArgs(spec, ['x', '--data-dir=/d', '--json']);
  assert.equal(a.help, false);
  assert.deepEqual(a.positionals, ['x']);
  assert.equal(stringFlag(a, 'data-dir'), '/d');
  assert.equal(boolFlag(a, 'json'), true);
  assert.equal(stringFlag(parseCommandArgs(spec, ['--data-dir', 'rel']), 'data-dir'), 'rel');
});

test('--help wins over everything else', () => {
  assert.equal(parseCommandArgs(spec, ['--bogus', '-h']).help, true);
});

test('unknown flags, missing values and extra positionals are usage errors (exit 2)', () => {
  for (const argv of [['--bogus'], ['--data-dir'], ['a', 'b'], ['--json=yes']]) {
    assert.throws(
      () => parseCommandArgs(spec, argv),
      (e: unknown) =>
        e instanceof UsageError && e.exitCode === 2 && e.hint === 'Run: photoncloud demo --help',
      argv.join(' '),
    );
  }
});

test('help lists every option, -h/--help and the examples', () => {
  const h = formatHelp(spec);
  assert.match(h, /^Usage: photoncloud demo <thing> \[options\]/);
  assert.match(h, /--data-dir DIR\s+where/);
  assert.match(h, /--json\s+json/);
  assert.match(h, /-h, --help\s+Show this help/);
  assert.match(h, /Examples:\n {2}photoncloud demo x/);
});
