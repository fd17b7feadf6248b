// Retries and error decoding against a small HTTP server on loopback that
// answers what each test needs (a real hookd does not answer 503 on demand).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

import { Hookd, HookdError } from '../index.js';

/**
 * serve answers each request with the next of answers ([status, body,
 * headers]), the last one again once they run out, and records the requests.
 */
async function serve(t, answers) {
  const requests = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      const [status, text, headers] = answers[Math.min(requests.length, answers.length) - 1];
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(text);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const client = new Hookd({ baseURL: `http://127.0.0.1:${server.address().port}`, apiKey: 'hk_admin_k', retryDelayMs: 1 });
  return { client, requests };
}

const unavailable = [503, '{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"not ready"}'];

test('an idempotent call is retried on 503', async (t) => {
  const { client, requests } = await serve(t, [unavailable, unavailable, [200, '{"status":"ok"}']]);
  assert.deepEqual(await client.getHealthz(), { status: 'ok' });
  assert.equal(requests.length, 3);
  assert.equal(requests[0].headers.authorization, 'Bearer hk_admin_k');
});

test('retries stop after `retries` and the last 503 is thrown', async (t) => {
  const { client, requests } = await serve(t, [unavailable]);
  await assert.rejects(client.getTenant('acme', { retries: 2 }), (err) => {
    assert.ok(err instanceof HookdError);
    assert.equal(err.status, 503);
    assert.equal(err.detail, 'not ready');
    return true;
  });
  assert.equal(requests.length, 3);
});

test('a POST is not retried', async (t) => {
  const { client, requests } = await serve(t, [unavailable, [201, '{}']]);
  await assert.rejects(client.createEndpoint('acme', { url: 'http://127.0.0.1:1/' }), HookdError);
  assert.equal(requests.length, 1);
});

test('publish is retried with the same idempotency key', async (t) => {
  const { client, requests } = await serve(t, [unavailable, [202, '{"id":"m1"}']]);
  assert.deepEqual(await client.publishMessage('acme', { event_type: 'a.b', payload: {} }), { id: 'm1' });
  assert.equal(requests.length, 2);
  const [first, second] = requests.map((r) => r.headers['idempotency-key']);
  assert.match(first, /^[0-9a-f-]{36}$/);
  assert.equal(second, first);
  assert.deepEqual(JSON.parse(requests[0].body), { event_type: 'a.b', payload: {} });
});

test('publish with the key in the body sends no header and is retried', async (t) => {
  const { client, requests } = await serve(t, [unavailable, [202, '{"id":"m1"}']]);
  await client.publishMessage('acme', { event_type: 'a.b', payload: {}, idempotency_key: 'k1' });
  assert.equal(requests.length, 2);
  assert.equal(requests[0].headers['idempotency-key'], undefined);
});

test('publish without a key is not retried', async (t) => {
  const { client, requests } = await serve(t, [unavailable, [202, '{"id":"m1"}']]);
  await assert.rejects(client.publishMessage('acme', { event_type: 'a.b', payload: {} }, { idempotencyKey: false }), HookdError);
  assert.equal(requests.length, 1);
  assert.equal(requests[0].headers['idempotency-key'], undefined);
});

test('Retry-After is waited for', async (t) => {
  const { client, requests } = await serve(t, [[503, '', { 'retry-after': '1' }], [200, '{"status":"ok"}']]);
  const start = Date.now();
  await client.getHealthz();
  assert.ok(Date.now() - start >= 950, `waited ${Date.now() - start} ms`);
  assert.equal(requests.length, 2);
});

test('a network error is retried, then thrown', async () => {
  // A port nothing listens on: bind one, note it, close it.
  const s = createServer();
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise((resolve) => s.close(resolve));
  let calls = 0;
  const counting = (...args) => (calls++, fetch(...args));
  const client = new Hookd({ baseURL: `http://127.0.0.1:${port}`, retryDelayMs: 1, retries: 2, fetch: counting });
  await assert.rejects(client.getHealthz(), TypeError);
  assert.equal(calls, 3);
});

test('an abort is not retried', async (t) => {
  const { client, requests } = await serve(t, [unavailable]);
  const ac = new AbortController();
  const call = client.getHealthz({ signal: ac.signal, retries: 100 });
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(call, { name: 'AbortError' });
  assert.ok(requests.length < 100);
});

test('a body that is not a problem still makes a HookdError', async (t) => {
  const { client } = await serve(t, [[502, '<html>bad gateway</html>', { 'content-type': 'text/html' }]]);
  await assert.rejects(client.createEventType({ name: 'a' }), (err) => {
    assert.ok(err instanceof HookdError);
    assert.equal(err.status, 502);
    assert.equal(err.detail, '<html>bad gateway</html>');
    assert.deepEqual(err.errors, []);
    return true;
  });
});

test('path parameters are escaped and queries encoded', async (t) => {
  const { client, requests } = await serve(t, [[200, '{"data":[],"next_cursor":null}']]);
  await client.listMessages('a/b c', { event_type: 'x.y', since: '2026-01-01T00:00:00Z', limit: 5, status: undefined });
  assert.equal(requests[0].url, '/api/v1/tenants/a%2Fb%20c/messages?event_type=x.y&since=2026-01-01T00%3A00%3A00Z&limit=5');
});

test('a pager follows next_cursor and starts at the given cursor', async (t) => {
  const { client, requests } = await serve(t, [
    [200, '{"data":[{"id":"a"}],"next_cursor":"c1"}'],
    [200, '{"data":[{"id":"b"}],"next_cursor":null}'],
  ]);
  const ids = [];
  for await (const tenant of client.listTenants({ limit: 1, cursor: 'c0' })) ids.push(tenant.id);
  assert.deepEqual(ids, ['a', 'b']);
  assert.deepEqual(requests.map((r) => r.url), ['/api/v1/tenants?limit=1&cursor=c0', '/api/v1/tenants?limit=1&cursor=c1']);
});
