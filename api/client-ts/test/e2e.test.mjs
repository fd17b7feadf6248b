// The client against a real hookd. node_test.go starts one (and a receiver
// on loopback) and runs this with HOOKD_URL, HOOKD_ADMIN_KEY and
// RECEIVER_URL set; by hand: `go test ./api/client-ts/`.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Hookd, HookdError } from '../index.js';

const { HOOKD_URL, HOOKD_ADMIN_KEY, RECEIVER_URL } = process.env;
for (const [name, value] of Object.entries({ HOOKD_URL, HOOKD_ADMIN_KEY, RECEIVER_URL })) {
  assert.ok(value, `${name} is not set: this test runs from \`go test ./api/client-ts/\`, which starts hookd`);
}

const admin = new Hookd({ baseURL: HOOKD_URL, apiKey: HOOKD_ADMIN_KEY });

/** until polls check every 50 ms until it returns a truthy value, for at most 20 s. */
async function until(what, check) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const got = await check();
    if (got) return got;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** expectProblem runs call and returns the HookdError it must throw. */
async function expectProblem(call, status) {
  try {
    await call();
  } catch (err) {
    assert.ok(err instanceof HookdError, `want a HookdError, got ${err}`);
    assert.ok(err instanceof Error);
    assert.equal(err.status, status, err.message);
    return err;
  }
  assert.fail(`want a ${status} HookdError, the call succeeded`);
}

test('health and the document', async () => {
  assert.equal((await admin.getHealthz()).status, 'ok');
  assert.equal((await admin.getReadyz()).status, 'ok');
  const doc = await admin.getOpenAPI();
  assert.equal(doc.openapi, '3.1.0');
  assert.match(await admin.getMetrics(), /^# (HELP|TYPE) /m);
});

test('create a tenant and an endpoint, publish, read the attempts, mint a portal link', async () => {
  const et = await admin.createEventType({ name: 'invoice.paid', description: 'An invoice was paid' });
  assert.equal(et.name, 'invoice.paid');
  assert.equal(et.archived, false);
  assert.equal((await admin.getEventType('invoice.paid')).description, 'An invoice was paid');

  const tenant = await admin.upsertTenant('acme', { name: 'Acme', metadata: { plan: 'pro' } });
  assert.equal(tenant.id, 'acme');
  assert.deepEqual(tenant.metadata, { plan: 'pro' });
  assert.equal((await admin.getTenant('acme')).name, 'Acme');

  const ep = await admin.createEndpoint('acme', { url: RECEIVER_URL, event_types: ['invoice.*'] });
  assert.equal(ep.url, RECEIVER_URL);
  const secret = await admin.getEndpointSecret('acme', ep.id);
  assert.match(secret.secret, /^whsec_/);

  // Publish sends an idempotency key by default; the same key again returns
  // the same message and delivers nothing more.
  const msg = await admin.publishMessage('acme', { event_type: 'invoice.paid', payload: { id: 'inv_1', amount: 4200 } });
  assert.equal(msg.tenant_id, 'acme');
  assert.deepEqual(msg.payload, { id: 'inv_1', amount: 4200 });
  assert.match(msg.idempotency_key ?? '', /^[0-9a-f-]{36}$/, 'a random UUID was sent as the Idempotency-Key');
  const again = await admin.publishMessage('acme', { event_type: 'invoice.paid', payload: { id: 'inv_1', amount: 4200 } },
    { idempotencyKey: msg.idempotency_key });
  assert.equal(again.id, msg.id);
  const unkeyed = await admin.publishMessage('acme', { event_type: 'invoice.paid', payload: { id: 'inv_2' } },
    { idempotencyKey: false });
  assert.equal(unkeyed.idempotency_key, null);

  const delivered = await until('the delivery to succeed', async () => {
    const m = await admin.getMessage('acme', msg.id);
    return m.deliveries.length === 1 && m.deliveries[0].status === 'succeeded' && m;
  });
  assert.equal(delivered.deliveries[0].endpoint_id, ep.id);

  const attempts = await admin.listMessageAttempts('acme', msg.id);
  assert.equal(attempts.data.length, 1);
  assert.equal(attempts.next_cursor, null);
  const [attempt] = attempts.data;
  assert.equal(attempt.status, 'succeeded');
  assert.equal(attempt.status_code, 200);
  assert.equal(attempt.trigger, 'scheduled');
  assert.equal(attempt.url, RECEIVER_URL);

  await until('both messages attempted', async () => {
    const seen = [];
    for await (const a of admin.listEndpointAttempts('acme', ep.id, { status: 'succeeded', limit: 1 })) seen.push(a.message_id);
    return seen.length === 2 && seen.includes(msg.id) && seen.includes(unkeyed.id);
  });

  const resent = await admin.resendMessage('acme', msg.id);
  assert.equal(resent.enqueued, 1);
  await until('the resend attempted', async () => {
    const { data } = await admin.listMessageAttempts('acme', msg.id);
    return data.some((a) => a.trigger === 'manual' && a.status === 'succeeded');
  });

  const removed = await admin.expungeMessage('acme', msg.id);
  assert.equal(removed.expunged, true);
  assert.equal(removed.payload, null);
  const expunged = await admin.listMessageAttempts('acme', msg.id);
  assert.ok(expunged.data.every((a) => a.expunged && a.response_body === ''));

  const link = await admin.createPortalLink('acme', { expires_in_seconds: 600 });
  assert.ok(link.url.startsWith(`${HOOKD_URL}/portal/login?token=`), link.url);
  assert.ok(Date.parse(link.expires_at) > Date.now());

  // The link logs a browser in; with its cookie the client is that session.
  const login = await fetch(link.url, { redirect: 'manual' });
  assert.equal(login.status, 303);
  const cookie = login.headers.get('set-cookie')?.split(';')[0];
  assert.match(cookie ?? '', /^hookd_session=/);
  const portal = new Hookd({ baseURL: HOOKD_URL, headers: { cookie } });
  const session = await portal.getPortalSession();
  assert.equal(session.tenant_id, 'acme');
  assert.equal(session.tenant_name, 'Acme');
  assert.equal((await portal.listEndpoints('acme')).data[0].id, ep.id);
  await portal.portalLogout({ headers: { 'x-csrf-token': session.csrf_token } });
  await expectProblem(() => portal.getPortalSession(), 401);

  // A read-only link's token, exchanged as the embedded portal does: a
  // session token that looks but changes nothing.
  const roLink = await admin.createPortalLink('acme', { read_only: true, accent: '#0f766e', dark: true });
  const token = new URL(roLink.url).searchParams.get('token');
  const started = await new Hookd({ baseURL: HOOKD_URL }).createPortalSession({ token });
  assert.match(started.session_token, /^hk_session_/);
  assert.equal(started.read_only, true);
  const viewer = new Hookd({ baseURL: HOOKD_URL, apiKey: started.session_token });
  const info = await viewer.getPortalSession();
  assert.deepEqual([info.read_only, info.embedded, info.branding.accent_color, info.branding.dark], [true, true, '#0f766e', true]);
  assert.equal((await viewer.listEndpoints('acme')).data[0].id, ep.id);
  await expectProblem(() => viewer.createEndpoint('acme', { url: `${RECEIVER_URL}?viewer` }), 403);
  await viewer.portalLogout();
});

test('lists follow next_cursor', async () => {
  const ids = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e'];
  for (const id of ids) assert.equal((await admin.upsertTenant(id)).id, id);

  const first = await admin.listTenants({ limit: 2 });
  assert.equal(first.data.length, 2);
  assert.ok(first.next_cursor);

  const seen = [];
  for await (const t of admin.listTenants({ limit: 2 })) seen.push(t.id);
  for (const id of ids) assert.ok(seen.includes(id), `${id} in ${seen}`);
  assert.equal(new Set(seen).size, seen.length, 'no tenant twice');

  let pages = 0;
  let items = 0;
  for await (const page of admin.listTenants({ limit: 2 }).pages()) {
    pages++;
    items += page.data.length;
    assert.ok(page.data.length <= 2);
  }
  assert.ok(pages >= 3, `${pages} pages`);
  assert.equal(items, seen.length);

  const rest = await admin.listTenants({ limit: 2, cursor: first.next_cursor });
  assert.notDeepEqual(rest.data.map((t) => t.id), first.data.map((t) => t.id));
});

test('errors are HookdErrors with the problem and its field errors', async () => {
  await admin.upsertTenant('errs');

  const bad = await expectProblem(() => admin.createEndpoint('errs', { url: 'not a url' }), 422);
  assert.equal(bad.title, 'Unprocessable Entity');
  assert.ok(bad.fieldError('url'), JSON.stringify(bad.errors));
  assert.deepEqual(bad.errors.map((e) => e.field), ['url']);
  assert.equal(bad.problem.status, 422);
  assert.ok(bad.message.includes(bad.detail), bad.message);
  assert.match(bad.headers.get('content-type'), /^application\/problem\+json/);

  const unknown = await expectProblem(() => admin.publishMessage('errs', { event_type: 'no.such.type', payload: {} }), 422);
  assert.ok(unknown.fieldError('event_type'), JSON.stringify(unknown.errors));

  const missing = await expectProblem(() => admin.getTenant('no-such-tenant'), 404);
  assert.deepEqual(missing.errors, []);

  await expectProblem(() => new Hookd({ baseURL: HOOKD_URL, apiKey: 'hk_admin_wrong' }).listTenants(), 401);
  await admin.createEventType({ name: 'errs.made' });
  await expectProblem(() => admin.createEventType({ name: 'errs.made' }), 409);
  assert.throws(() => admin.getTenant(''), TypeError);
});

test('a tenant key reaches only its tenant', async () => {
  await admin.upsertTenant('keyed', { name: 'Keyed' });
  const created = await admin.createTenantKey('keyed');
  assert.match(created.key, /^hk_tenant_/);
  const tenant = new Hookd({ baseURL: HOOKD_URL, apiKey: created.key });

  const ep = await tenant.createEndpoint('keyed', { url: RECEIVER_URL });
  assert.equal((await tenant.getEndpoint('keyed', ep.id)).id, ep.id);
  await expectProblem(() => tenant.listTenants(), 403);
  await expectProblem(() => tenant.listEndpoints('acme'), 404);

  const keys = await admin.listTenantKeys('keyed');
  assert.deepEqual(keys.data.map((k) => k.id), [created.id]);
  await admin.revokeTenantKey('keyed', created.id);
  await expectProblem(() => tenant.listEndpoints('keyed'), 401);
  await admin.deleteTenant('keyed');
  await expectProblem(() => admin.getTenant('keyed'), 404);
});

test('versioned payloads: each endpoint gets the version it pins', async () => {
  await admin.upsertTenant('vers');
  const et = await admin.createEventType({
    name: 'vers.paid',
    versions: {
      1: { schema: { type: 'object', required: ['amount'] }, example: { amount: 4.2 } },
      2: { schema: { type: 'object', required: ['cents'] }, example: { cents: 420 }, changes: 'cents, not euros' },
    },
  });
  assert.equal(et.version, 2);
  assert.equal(et.versions['2'].changes, 'cents, not euros');
  const pinned = await admin.createEndpoint('vers', { url: RECEIVER_URL, version_pins: { 'vers.paid': 1 } });
  assert.deepEqual(pinned.version_pins, { 'vers.paid': 1 });
  const msg = await admin.publishMessage('vers', { event_type: 'vers.paid', payloads: { 1: { amount: 1.5 }, 2: { cents: 150 } } });
  assert.equal(msg.version, 2);
  assert.deepEqual(msg.payloads, { 1: { amount: 1.5 }, 2: { cents: 150 } });
  const attempt = await until('the delivery', async () => (await admin.listMessageAttempts('vers', msg.id)).data[0]);
  const version = Object.entries(attempt.request_headers).find(([k]) => k.toLowerCase() === 'webhook-version');
  assert.deepEqual(version?.[1], ['1'], 'the pinned version went out');

  const bad = await expectProblem(() => admin.publishMessage('vers', { event_type: 'vers.paid', payloads: { 1: {} } }), 422);
  assert.ok(bad.fieldError('payloads.1'), bad.detail);
  await admin.updateEventType('vers.paid', { versions: { 1: { deprecated_at: new Date().toISOString() } } });
  const users = [];
  for await (const e of admin.listVersionEndpoints('vers.paid', 1)) users.push(e.id);
  assert.deepEqual(users, [pinned.id]);
  const test = await admin.sendTestEvent('vers', pinned.id, { event_type: 'vers.paid', version: 2 });
  assert.equal((await admin.getMessage('vers', test.message_id)).version, 2);
  assert.deepEqual((await admin.updateEndpoint('vers', pinned.id, { version_pins: { 'vers.paid': 2 } })).version_pins, { 'vers.paid': 2 });
});

test('every other operation answers as documented', async () => {
  const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
  await admin.upsertTenant('ops');
  await admin.createEventType({ name: 'ops.changed' });
  const ep = await admin.createEndpoint('ops', { url: RECEIVER_URL });

  const updated = await admin.updateEventType('ops.changed', { description: 'Ops changed', example: { n: 1 } });
  assert.equal(updated.description, 'Ops changed');
  assert.deepEqual(updated.example, { n: 1 });
  const sent = await admin.sendTestEvent('ops', ep.id, { event_type: 'ops.changed' });
  assert.deepEqual((await admin.getMessage('ops', sent.message_id)).payload, { n: 1 });

  // A receiver self-check; this receiver accepts everything, so the forged rows fail.
  const started = await admin.startEndpointCheck('ops', ep.id);
  assert.equal(started.status, 'running');
  assert.equal(started.results.length, 8);
  const check = await until('the check finished', async () => {
    const c = await admin.getEndpointCheck('ops', ep.id, started.id);
    return c.status === 'running' ? null : c;
  });
  assert.equal(check.verdict, 'fail');
  assert.deepEqual(check.results.filter((r) => r.verdict === 'fail').map((r) => r.name),
    ['bad_signature', 'tampered_body', 'stale_timestamp', 'future_timestamp']);
  const checks = [];
  for await (const c of admin.listEndpointChecks('ops', ep.id)) checks.push(c.id);
  assert.deepEqual(checks, [started.id]);
  const tooSoon = await expectProblem(() => admin.startEndpointCheck('ops', ep.id, { event_type: 'ops.changed' }), 429);
  assert.ok(Number(tooSoon.headers.get('retry-after')) > 0);
  assert.equal((await admin.archiveEventType('ops.changed')).archived, true);
  const names = [];
  for await (const et of admin.listEventTypes({ include_archived: true })) names.push(et.name);
  assert.ok(names.includes('ops.changed'), names.join());
  assert.ok(!(await admin.listEventTypes()).data.some((et) => et.name === 'ops.changed'));

  assert.equal((await admin.updateEndpoint('ops', ep.id, { description: 'mine' })).description, 'mine');
  const before = await admin.getEndpointSecret('ops', ep.id);
  const rotated = await admin.rotateEndpointSecret('ops', ep.id, { grace_period_seconds: 0 });
  assert.notEqual(rotated.secret, before.secret);
  await until('the test event delivered', async () => (await admin.getEndpointStats('ops', ep.id)).succeeded_24h === 1);
  assert.equal((await admin.getEndpointStats('ops', ep.id)).endpoint_id, ep.id);

  assert.equal(typeof (await admin.recoverEndpoint('ops', ep.id, { since: hourAgo })).enqueued, 'number');
  const dry = await admin.createReplay({ status: 'failed', since: hourAgo, tenant_id: 'ops', dry_run: true });
  assert.deepEqual(dry, { matched: 0, dry_run: true });
  const replay = await admin.createReplay({ status: 'failed', since: hourAgo, tenant_id: 'ops' });
  assert.equal((await admin.getReplay(replay.id)).id, replay.id);
  const replays = [];
  for await (const r of admin.listReplays({ limit: 1 })) replays.push(r.id);
  assert.ok(replays.includes(replay.id));

  assert.ok(Array.isArray((await admin.listFailingEndpoints()).data));
  const deliveries = await admin.listDeliveries({ status: 'succeeded', tenant_id: 'ops' });
  assert.ok(deliveries.data.length >= 1, JSON.stringify(deliveries));
  assert.ok(Array.isArray((await admin.getQueue()).queues));

  assert.equal(await admin.revokePortalSessions('ops'), undefined);
  assert.equal(await admin.deleteEndpoint('ops', ep.id), undefined);
  await expectProblem(() => admin.getEndpoint('ops', ep.id), 404);
});

test('operational endpoints hear of endpoint changes; backfill sends what an endpoint missed', async () => {
  const op = await admin.createOperationalEndpoint({ url: RECEIVER_URL, event_types: ['endpoint.created', 'endpoint.deleted'] });
  assert.equal(op.tenant_id, 'hookd:operational');
  assert.equal((await admin.getOperationalEndpoint(op.id)).id, op.id);
  assert.equal((await admin.updateOperationalEndpoint(op.id, { description: 'on-call' })).description, 'on-call');
  const listed = [];
  for await (const e of admin.listOperationalEndpoints()) listed.push(e.id);
  assert.deepEqual(listed, [op.id]);
  const secret = await admin.getOperationalEndpointSecret(op.id);
  assert.match(secret.secret, /^whsec_/);
  const bad = await expectProblem(() => admin.createOperationalEndpoint({ url: RECEIVER_URL, event_types: ['invoice.paid'] }), 422);
  assert.match(bad.fieldError('event_types'), /not an operational event type/);

  await admin.upsertTenant('late');
  await admin.createEventType({ name: 'late.event' });
  const msg = await admin.publishMessage('late', { event_type: 'late.event', payload: { n: 1 } });
  const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
  const ep = await admin.createEndpoint('late', { url: RECEIVER_URL, backfill_since: hourAgo });
  assert.equal(ep.backfill?.enqueued, 1);
  assert.deepEqual(await admin.backfillEndpoint('late', ep.id, { since: hourAgo, dry_run: true }), { matched: 0, dry_run: true, limit: 10000 });
  const again = await admin.backfillEndpoint('late', ep.id, { since: hourAgo });
  assert.equal(again.enqueued, 0);
  await until('the backfilled message delivered', async () =>
    (await admin.getMessage('late', msg.id)).deliveries.some((d) => d.status === 'succeeded'));
  const attempts = await admin.listEndpointAttempts('late', ep.id);
  assert.equal(attempts.data[0].trigger, 'backfill');

  await admin.deleteEndpoint('late', ep.id);
  await until('endpoint.created and endpoint.deleted sent', async () =>
    (await admin.listOperationalEndpointAttempts(op.id, { status: 'succeeded' })).data.length === 2);
  const rotated = await admin.rotateOperationalEndpointSecret(op.id, { grace_period_seconds: 0 });
  assert.notEqual(rotated.secret, secret.secret);
  assert.equal(await admin.deleteOperationalEndpoint(op.id), undefined);
  await expectProblem(() => admin.getOperationalEndpoint(op.id), 404);
});

test('event types as code, a publish that creates its tenant, filtered attempts, one attempt', async () => {
  const declared = await admin.putEventType('code.declared', { description: 'Declared from code', example: { n: 1 } });
  assert.equal(declared.description, 'Declared from code');
  const again = await admin.putEventType('code.declared', { description: 'Declared from code', example: { n: 1 } });
  assert.deepEqual(again, declared, 'the same declaration changes nothing');
  const bad = await expectProblem(() => admin.putEventType('code.declared', { schema: { type: 12 } }), 422);
  assert.ok(bad.fieldError('schema'), JSON.stringify(bad.errors));

  await expectProblem(() => admin.publishMessage('fresh', { event_type: 'code.declared', payload: { n: 1 } }), 404);
  const msg = await admin.publishMessage('fresh', { event_type: 'code.declared', payload: { n: 2 }, channels: ['eu'],
    tenant: { name: 'Fresh', metadata: { source: 'publish' } } });
  assert.equal(msg.tenant_id, 'fresh');
  const tenant = await admin.getTenant('fresh');
  assert.deepEqual([tenant.name, tenant.metadata], ['Fresh', { source: 'publish' }]);
  assert.deepEqual((await admin.listMessages('fresh', { channel: 'eu' })).data.map((m) => m.id), [msg.id]);
  assert.deepEqual((await admin.listMessages('fresh', { channel: 'us' })).data, []);

  const ep = await admin.createEndpoint('fresh', { url: RECEIVER_URL });
  const sent = await admin.publishMessage('fresh', { event_type: 'code.declared', payload: { n: 3 } });
  const attempt = await until('the attempt logged', async () => (await admin.listMessageAttempts('fresh', sent.id)).data[0]);
  assert.equal(attempt.status_code, 200);
  assert.deepEqual(await admin.getAttempt('fresh', attempt.id), attempt);
  await expectProblem(() => admin.getAttempt('acme', attempt.id), 404);

  const since = new Date(Date.now() - 3_600_000).toISOString();
  const ok = await admin.listEndpointAttempts('fresh', ep.id, { status_class: '2xx', event_type: 'code.declared', since });
  assert.deepEqual(ok.data.map((a) => a.id), [attempt.id]);
  assert.deepEqual((await admin.listEndpointAttempts('fresh', ep.id, { status_class: 'error' })).data, []);
  assert.deepEqual((await admin.listMessageAttempts('fresh', sent.id, { until: since })).data, []);
  const wrong = await expectProblem(() => admin.listEndpointAttempts('fresh', ep.id, { status_class: '6xx' }), 422);
  assert.ok(wrong.fieldError('status_class'), JSON.stringify(wrong.errors));
});
