// Every operation of api/openapi.json has a client method, declared in
// index.d.ts and typed in schema.d.ts (so `npm run gen` was run after the
// document last changed its operations).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { Hookd } from '../index.js';

const read = (path) => readFileSync(new URL(path, import.meta.url), 'utf8');

const methods = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);
const doc = JSON.parse(read('../../openapi.json'));
const operationIds = Object.values(doc.paths).flatMap((item) =>
  Object.entries(item).filter(([m]) => methods.has(m)).map(([, op]) => op.operationId));

test('every operation of the document has an operationId', () => {
  assert.ok(operationIds.length > 0);
  assert.ok(operationIds.every((id) => typeof id === 'string' && id !== ''), 'an operation without an operationId');
});

test('every operation has a method in index.js', () => {
  const missing = operationIds.filter((id) => typeof Hookd.prototype[id] !== 'function');
  assert.deepEqual(missing, [], `operations without a method in index.js: ${missing.join(', ')}`);
});

test('every operation is declared in index.d.ts and typed in schema.d.ts', () => {
  const dts = read('../index.d.ts');
  const schema = read('../schema.d.ts');
  const undeclared = operationIds.filter((id) => !new RegExp(`^  ${id}\\(`, 'm').test(dts));
  assert.deepEqual(undeclared, [], `operations not declared in index.d.ts: ${undeclared.join(', ')}`);
  const untyped = operationIds.filter((id) => !new RegExp(`^    ${id}: \\{$`, 'm').test(schema));
  assert.deepEqual(untyped, [], `operations not in schema.d.ts (run \`npm run gen\`): ${untyped.join(', ')}`);
});

test('the client has no method that the document lacks', () => {
  const own = Object.getOwnPropertyNames(Hookd.prototype).filter((n) => n !== 'constructor' && n !== 'request');
  const extra = own.filter((n) => !operationIds.includes(n));
  assert.deepEqual(extra, [], `methods for no operation: ${extra.join(', ')}`);
});
