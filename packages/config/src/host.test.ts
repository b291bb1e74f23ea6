import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from './config-error.js';
import { connectHost, formatHostPort, httpUrl, isLoopbackHost, isWildcardHost, parseHost } from './host.js';

test('parseHost accepts IP literals and host names, rejects junk', () => {
  assert.equal(parseHost('127.0.0.1'), '127.0.0.1');
  assert.equal(parseHost('[::1]'), '::1');
  assert.equal(parseHost(' node-1.example.com '), 'node-1.example.com');
  for (const bad of ['', ' ', 'http://x', 'a b', 'host:80', '-bad'])
    assert.throws(() => parseHost(bad), ConfigError, bad);
});

test('isLoopbackHost knows 127/8, ::1 and localhost, and nothing else', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1'])
    assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '127.example.com'])
    assert.equal(isLoopbackHost(h), false, h);
});

test('clients dial loopback for wildcard listeners; IPv6 gets brackets', () => {
  assert.equal(isWildcardHost('0.0.0.0'), true);
  assert.equal(connectHost('0.0.0.0'), '127.0.0.1');
  assert.equal(connectHost('::'), '::1');
  assert.equal(connectHost('10.0.0.5'), '10.0.0.5');
  assert.equal(formatHostPort('::1', 8081), '[::1]:8081');
  assert.equal(formatHostPort('127.0.0.1', 8081), '127.0.0.1:8081');
  assert.equal(httpUrl('::', 8081), 'http://[::1]:8081');
  assert.equal(httpUrl('0.0.0.0', 8081), 'http://127.0.0.1:8081');
});
