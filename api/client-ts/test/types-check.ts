// Typed usage of the client, checked by `npm run check` (tsc --noEmit) and
// never run. Each @ts-expect-error is a misuse that must not compile, so the
// declarations cannot quietly decay into `any`.

import { Hookd, HookdError, Pager, type OperationalEvent, type OperationId, type Schemas } from '../index.js';

function expectType<T>(value: T): T {
  return value;
}

// Every operation of the document has a method: this fails to compile,
// naming the missing ones, when an operation is added to api/openapi.json
// (and `npm run gen` run) without a method here.
type Missing = Exclude<OperationId, keyof Hookd>;
const everyOperationHasAMethod: [Missing] extends [never] ? true : Missing = true;
void everyOperationHasAMethod;

export async function usage(): Promise<void> {
  const hookd = new Hookd({ baseURL: 'http://127.0.0.1:8080', apiKey: 'hk_admin_x', retries: 2 });
  // @ts-expect-error baseURL is required
  new Hookd({ apiKey: 'hk_admin_x' });

  const et = await hookd.createEventType({ name: 'invoice.paid', description: 'An invoice was paid' });
  expectType<string>(et.name);
  expectType<boolean>(et.archived);
  // @ts-expect-error name is required
  await hookd.createEventType({ description: 'nameless' });

  const tenant = await hookd.upsertTenant('acme', { name: 'Acme', metadata: { plan: 'pro' } });
  expectType<Schemas['Tenant']>(tenant);
  expectType<string>(tenant.id);

  const ep = await hookd.createEndpoint('acme', { url: 'http://127.0.0.1:9000/webhook', event_types: ['invoice.*'] });
  expectType<string>(ep.id);
  // @ts-expect-error url is required
  await hookd.createEndpoint('acme', { event_types: ['invoice.*'] });
  // @ts-expect-error rate_limit is a number
  await hookd.createEndpoint('acme', { url: 'http://127.0.0.1:9000/', rate_limit: 'fast' });

  const check = await hookd.startEndpointCheck('acme', ep.id);
  expectType<'running' | 'finished' | 'aborted'>(check.status);
  expectType<Array<'pass' | 'warn' | 'fail' | 'pending'>>(check.results.map((r) => r.verdict));
  // @ts-expect-error the check's id is required
  await hookd.getEndpointCheck('acme', ep.id);

  const msg = await hookd.publishMessage('acme', { event_type: 'invoice.paid', payload: { id: 'inv_1', amount: 42 } });
  expectType<string>(msg.id);
  expectType<string | null>(msg.idempotency_key);
  await hookd.publishMessage('acme', { event_type: 'invoice.paid', payload: {} }, { idempotencyKey: 'order-1' });
  await hookd.publishMessage('acme', { event_type: 'invoice.paid', payload: {} }, { idempotencyKey: false });
  await hookd.publishMessage('new-co', { event_type: 'invoice.paid', payload: {}, tenant: { name: 'New Co' } });
  // @ts-expect-error a tenant's name is a string
  await hookd.publishMessage('new-co', { event_type: 'invoice.paid', payload: {}, tenant: { name: 7 } });

  const declared = await hookd.putEventType('invoice.paid', { description: 'An invoice was paid', archived: false });
  expectType<Schemas['EventType']>(declared);
  // @ts-expect-error archived is a boolean
  await hookd.putEventType('invoice.paid', { archived: 'no' });
  const failed = await hookd.listEndpointAttempts('acme', ep.id, { status_class: '5xx', event_type: 'invoice.paid' });
  expectType<Schemas['Attempt'][]>(failed.data);
  // @ts-expect-error status_class is 2xx, 3xx, 4xx, 5xx or error
  await hookd.listEndpointAttempts('acme', ep.id, { status_class: '6xx' });
  expectType<Schemas['Attempt']>(await hookd.getAttempt('acme', failed.data[0]!.id));
  // @ts-expect-error the event type is required
  await hookd.publishMessage('acme', { payload: {} });
  // Several versions: each endpoint gets the one it pins.
  const versioned = await hookd.publishMessage('acme', { event_type: 'invoice.paid', version: 2, payloads: { 1: { amount: 4.2 }, 2: { cents: 420 } } });
  expectType<number>(versioned.version);
  expectType<Record<string, Record<string, unknown>> | undefined>(versioned.payloads);
  // @ts-expect-error a version is a number
  await hookd.publishMessage('acme', { event_type: 'invoice.paid', version: '2', payload: {} });
  const pinners = await hookd.listVersionEndpoints('invoice.paid', 1, { limit: 10 });
  expectType<string[]>(pinners.data.map((e) => e.tenant_id));
  expectType<Record<string, number>>(ep.version_pins);

  const withDeliveries = await hookd.getMessage('acme', msg.id);
  expectType<Schemas['Delivery'][]>(withDeliveries.deliveries);
  expectType<'pending' | 'succeeded' | 'failed' | 'parked'>(withDeliveries.deliveries[0]!.status);

  // A list awaited is its first page; iterated, every item of every page.
  const page = await hookd.listMessageAttempts('acme', msg.id, { limit: 10 });
  expectType<Schemas['Attempt'][]>(page.data);
  expectType<string | null>(page.next_cursor);
  for await (const attempt of hookd.listEndpointAttempts('acme', ep.id, { status: 'succeeded' })) {
    expectType<Schemas['Attempt']>(attempt);
    expectType<number | null>(attempt.status_code);
  }
  for await (const p of hookd.listTenants().pages()) {
    expectType<Schemas['Tenant'][]>(p.data);
  }
  expectType<Pager<Schemas['MessageList']>>(hookd.listMessages('acme', { event_type: 'invoice.paid', since: '2026-01-01T00:00:00Z' }));
  // @ts-expect-error status is one of pending, succeeded, failed
  hookd.listMessages('acme', { status: 'lost' });
  // @ts-expect-error a list is not an array
  (await hookd.listTenants()).map((t: unknown) => t);

  const link = await hookd.createPortalLink('acme', { expires_in_seconds: 600 });
  expectType<string>(link.url);
  await hookd.createPortalLink('acme');

  const replay = await hookd.createReplay({ status: 'failed', since: '2026-01-01T00:00:00Z', dry_run: true });
  if ('matched' in replay) expectType<number>(replay.matched);

  const created = await hookd.createEndpoint('acme', { url: 'http://127.0.0.1:9000/new', backfill_since: '2026-01-01T00:00:00Z' });
  expectType<number | undefined>(created.backfill?.enqueued);
  const backfill = await hookd.backfillEndpoint('acme', ep.id, { since: '2026-01-01T00:00:00Z' });
  if ('more' in backfill) expectType<boolean>(backfill.more);
  // @ts-expect-error since is required
  await hookd.backfillEndpoint('acme', ep.id, { dry_run: true });

  const op = await hookd.createOperationalEndpoint({ url: 'https://ops.example/hookd', event_types: ['endpoint.*'] });
  expectType<string>(op.id);
  // @ts-expect-error an operational endpoint has no channels
  await hookd.createOperationalEndpoint({ url: 'https://ops.example/hookd', channels: ['eu'] });
  for await (const a of hookd.listOperationalEndpointAttempts(op.id)) expectType<Schemas['Attempt']>(a);
  const onEvent = (ev: OperationalEvent): string => {
    if (ev.type === 'message.attempt.exhausted') return `${ev.data.message_id} after ${ev.data.attempts}`;
    if (ev.type === 'endpoint.updated') return ev.data.changed.join();
    return ev.data.url;
  };
  void onEvent;

  expectType<void>(await hookd.deleteEndpoint('acme', ep.id));
  expectType<string>(await hookd.getMetrics());
  expectType<Schemas['Health']>(await hookd.getHealthz());

  try {
    await hookd.createEndpoint('acme', { url: 'not a url' });
  } catch (err) {
    if (err instanceof HookdError) {
      expectType<number>(err.status);
      expectType<string>(err.detail);
      expectType<string | undefined>(err.fieldError('url'));
      for (const fe of err.errors) expectType<string>(fe.field + fe.message);
    }
  }

  const portal = new Hookd({ baseURL: new URL('http://127.0.0.1:8080'), headers: { cookie: 'hookd_session=x' } });
  const session = await portal.getPortalSession({ signal: AbortSignal.timeout(1000) });
  await portal.portalLogout({ headers: { 'x-csrf-token': session.csrf_token } });

  const embedded = await new Hookd({ baseURL: 'http://127.0.0.1:8080' }).createPortalSession({ token: 'hk_portal_x' });
  expectType<string>(embedded.session_token);
  expectType<boolean>(embedded.read_only);
  expectType<boolean>((await new Hookd({ baseURL: 'http://127.0.0.1:8080', apiKey: embedded.session_token }).getPortalSession()).embedded);
}
