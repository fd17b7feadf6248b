// Types of @hookd/client (index.js), written over schema.d.ts, which
// openapi-typescript generates from api/openapi.json: `npm run gen`.
// `npm run check` proves them consistent with test/types-check.ts.

import type { components, operations } from './schema.js';

export type { components, operations, paths } from './schema.js';

/** The OpenAPI document's schemas, e.g. `Schemas['Endpoint']`. */
export type Schemas = components['schemas'];
/** An RFC 9457 problem, the body of every error answer. */
export type Problem = Schemas['Problem'];
/** One field at fault in a request. */
export type FieldError = Schemas['FieldError'];

/**
 * The body of an operational webhook (the document's `webhooks`), as an
 * operational endpoint receives it; `type` tells which.
 */
export type OperationalEvent =
  | Schemas['EndpointFailingEvent']
  | Schemas['EndpointDisabledEvent']
  | Schemas['EndpointRecoveredEvent']
  | Schemas['EndpointCreatedEvent']
  | Schemas['EndpointUpdatedEvent']
  | Schemas['EndpointDeletedEvent']
  | Schemas['EndpointSecretRotatedEvent']
  | Schemas['MessageAttemptExhaustedEvent'];

/** An operationId of the OpenAPI document. */
export type OperationId = keyof operations;

type SuccessStatus = 200 | 201 | 202 | 204;
type Decoded<R> = R extends { content: { 'application/json': infer T } }
  ? T
  : R extends { content: { 'text/plain': infer T } }
    ? T
    : void;

/** What an operation answers on success: a union when it has several 2xx answers. */
export type ResponseOf<K extends OperationId> = {
  [S in keyof operations[K]['responses'] & SuccessStatus]: Decoded<operations[K]['responses'][S]>;
}[keyof operations[K]['responses'] & SuccessStatus];

/** The JSON request body of an operation. */
export type BodyOf<K extends OperationId> =
  operations[K] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

/** The query parameters of an operation. */
export type QueryOf<K extends OperationId> = NonNullable<operations[K]['parameters']['query']>;

/** A page of a list: its items and the cursor of the next page (null on the last). */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Headers as fetch takes them. */
export type HeadersLike = Headers | Record<string, string> | Array<[string, string]>;

/** How a Hookd client talks to its server. */
export interface HookdOptions {
  /** Where hookd is, e.g. `http://127.0.0.1:8080` (without /api/v1). */
  baseURL: string | URL;
  /** An admin key (`hk_admin_...`) or a tenant key (`hk_tenant_...`), sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** Headers sent with every request (e.g. a portal session's `cookie`). */
  headers?: HeadersLike;
  /** The fetch to use; the global one by default. */
  fetch?: typeof fetch;
  /** How many times an idempotent call is sent again on 503 or a network error (3). */
  retries?: number;
  /** The first wait before a retry, doubled each time, with jitter (200 ms). */
  retryDelayMs?: number;
  /** How long one attempt may take, answer body included (30 000 ms). */
  timeoutMs?: number;
}

/** Options of one call. */
export interface RequestOptions {
  /** Aborts the call, retries included. */
  signal?: AbortSignal;
  /** Headers for this call only, over HookdOptions.headers. */
  headers?: HeadersLike;
  /** Overrides HookdOptions.retries (idempotent calls only). */
  retries?: number;
  /** Overrides HookdOptions.timeoutMs. */
  timeoutMs?: number;
}

/** Options of publishMessage. */
export interface PublishOptions extends RequestOptions {
  /**
   * The Idempotency-Key to send; a random UUID when left out (unless the body
   * has an idempotency_key). false sends none, and then a failed publish is
   * not retried.
   */
  idempotencyKey?: string | false;
}

/**
 * Thrown for every answer that is not 2xx, with the problem hookd answered.
 * Network errors and aborts are thrown as fetch throws them.
 */
export class HookdError extends Error {
  constructor(method: string, path: string, status: number, problem: Problem, headers: Headers);
  readonly name: 'HookdError';
  /** The HTTP status, e.g. 422. */
  status: number;
  /** The problem type, `about:blank` when it is only the status. */
  type: string;
  /** The status in words, e.g. "Unprocessable Entity". */
  title: string;
  /** What went wrong, e.g. "url: must be an absolute http or https URL". */
  detail: string;
  /** For validation failures: every field at fault (empty otherwise). */
  errors: FieldError[];
  /** The problem as answered. */
  problem: Problem;
  /** The response headers. */
  headers: Headers;
  /** The message of the error for field, or undefined when it is not at fault. */
  fieldError(field: string): string | undefined;
}

/**
 * What list methods return. Awaited, it is the first page; iterated with
 * `for await`, it yields every item of every page, following next_cursor.
 * Nothing is sent until it is awaited or iterated.
 */
export class Pager<P extends Page<unknown>> implements PromiseLike<P>, AsyncIterable<P['data'][number]> {
  private constructor();
  then<A = P, B = never>(
    onFulfilled?: ((page: P) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B>;
  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<P | B>;
  finally(onFinally?: (() => void) | null): Promise<P>;
  /** Every page, from the first until one has no next_cursor. */
  pages(): AsyncGenerator<P, void, undefined>;
  [Symbol.asyncIterator](): AsyncGenerator<P['data'][number], void, undefined>;
}

type Call<K extends OperationId> = Promise<ResponseOf<K>>;
type List<K extends OperationId> = Pager<Extract<ResponseOf<K>, Page<unknown>>>;

/**
 * A client of one hookd server. Each method is one operation of the OpenAPI
 * document, named by its operationId.
 */
export class Hookd {
  constructor(options: HookdOptions);

  /**
   * Sends one call: `path` with its parameters in it, e.g.
   * `/api/v1/tenants/acme`. For what the methods do not cover.
   */
  request<T = unknown>(
    method: string,
    path: string,
    options?: RequestOptions & { body?: unknown; query?: Record<string, unknown>; idempotent?: boolean; accept?: string },
  ): Promise<T>;

  // Health and the document

  /** Liveness. */
  getHealthz(options?: RequestOptions): Call<'getHealthz'>;
  /** Readiness: a HookdError with status 503 when the database does not answer. */
  getReadyz(options?: RequestOptions): Call<'getReadyz'>;
  /** Prometheus metrics, as text. */
  getMetrics(options?: RequestOptions): Call<'getMetrics'>;
  /** The OpenAPI document. */
  getOpenAPI(options?: RequestOptions): Call<'getOpenAPI'>;

  // Tenants

  /** List tenants. */
  listTenants(query?: QueryOf<'listTenants'>, options?: RequestOptions): List<'listTenants'>;
  /** Create (201) or update (200) a tenant; its id is yours to choose. */
  upsertTenant(tenant: string, body?: BodyOf<'upsertTenant'>, options?: RequestOptions): Call<'upsertTenant'>;
  /** Read a tenant. */
  getTenant(tenant: string, options?: RequestOptions): Call<'getTenant'>;
  /** Delete a tenant with all it owns. */
  deleteTenant(tenant: string, options?: RequestOptions): Call<'deleteTenant'>;
  /** Mint a tenant-scoped API key; its `key` is shown only here. */
  createTenantKey(tenant: string, body?: BodyOf<'createTenantKey'>, options?: RequestOptions): Call<'createTenantKey'>;
  /** List a tenant's keys. */
  listTenantKeys(tenant: string, options?: RequestOptions): Call<'listTenantKeys'>;
  /** Revoke a tenant key. */
  revokeTenantKey(tenant: string, key: string, options?: RequestOptions): Call<'revokeTenantKey'>;
  /** Mint a single-use portal login link. */
  createPortalLink(tenant: string, body?: BodyOf<'createPortalLink'>, options?: RequestOptions): Call<'createPortalLink'>;
  /** End all portal sessions of a tenant. */
  revokePortalSessions(tenant: string, options?: RequestOptions): Call<'revokePortalSessions'>;

  // Event types

  /** Create an event type. */
  createEventType(body: BodyOf<'createEventType'>, options?: RequestOptions): Call<'createEventType'>;
  /** List event types. */
  listEventTypes(query?: QueryOf<'listEventTypes'>, options?: RequestOptions): List<'listEventTypes'>;
  /** Read an event type. */
  getEventType(name: string, options?: RequestOptions): Call<'getEventType'>;
  /**
   * Create or replace an event type (event types as code): fields left out
   * take their defaults, and the same body again changes nothing.
   */
  putEventType(name: string, body?: BodyOf<'putEventType'>, options?: RequestOptions): Call<'putEventType'>;
  /** Update an event type; fields left out keep their value. */
  updateEventType(name: string, body: BodyOf<'updateEventType'>, options?: RequestOptions): Call<'updateEventType'>;
  /** Archive an event type. */
  archiveEventType(name: string, options?: RequestOptions): Call<'archiveEventType'>;
  /** The endpoints, of every tenant, that pin a version of an event type (admin keys). */
  listVersionEndpoints(name: string, version: number | string, query?: QueryOf<'listVersionEndpoints'>, options?: RequestOptions): List<'listVersionEndpoints'>;

  // Endpoints

  /** Create an endpoint; its signing secret is generated unless given. */
  createEndpoint(tenant: string, body: BodyOf<'createEndpoint'>, options?: RequestOptions): Call<'createEndpoint'>;
  /** List a tenant's endpoints. */
  listEndpoints(tenant: string, query?: QueryOf<'listEndpoints'>, options?: RequestOptions): List<'listEndpoints'>;
  /** Read an endpoint. */
  getEndpoint(tenant: string, endpoint: string, options?: RequestOptions): Call<'getEndpoint'>;
  /** Update an endpoint; fields left out keep their value. */
  updateEndpoint(tenant: string, endpoint: string, body: BodyOf<'updateEndpoint'>, options?: RequestOptions): Call<'updateEndpoint'>;
  /** Delete an endpoint. */
  deleteEndpoint(tenant: string, endpoint: string, options?: RequestOptions): Call<'deleteEndpoint'>;
  /** Read the signing secret. */
  getEndpointSecret(tenant: string, endpoint: string, options?: RequestOptions): Call<'getEndpointSecret'>;
  /** Rotate the signing secret; the old one keeps signing during the grace period. */
  rotateEndpointSecret(tenant: string, endpoint: string, body?: BodyOf<'rotateEndpointSecret'>, options?: RequestOptions): Call<'rotateEndpointSecret'>;
  /** Re-send the endpoint's failed deliveries whose message was created in a window. */
  recoverEndpoint(tenant: string, endpoint: string, body: BodyOf<'recoverEndpoint'>, options?: RequestOptions): Call<'recoverEndpoint'>;
  /** List attempts to an endpoint. */
  listEndpointAttempts(tenant: string, endpoint: string, query?: QueryOf<'listEndpointAttempts'>, options?: RequestOptions): List<'listEndpointAttempts'>;
  /** An endpoint's health over 24 hours. */
  getEndpointStats(tenant: string, endpoint: string, options?: RequestOptions): Call<'getEndpointStats'>;
  /** Send an event type's example payload to one endpoint. */
  sendTestEvent(tenant: string, endpoint: string, body: BodyOf<'sendTestEvent'>, options?: RequestOptions): Call<'sendTestEvent'>;
  /** Start a receiver self-check of an endpoint; poll getEndpointCheck until it is no longer running. */
  startEndpointCheck(tenant: string, endpoint: string, body?: BodyOf<'startEndpointCheck'>, options?: RequestOptions): Call<'startEndpointCheck'>;
  /** List an endpoint's self-checks, newest first. */
  listEndpointChecks(tenant: string, endpoint: string, query?: QueryOf<'listEndpointChecks'>, options?: RequestOptions): List<'listEndpointChecks'>;
  /** Read a self-check and its report. */
  getEndpointCheck(tenant: string, endpoint: string, check: string, options?: RequestOptions): Call<'getEndpointCheck'>;
  /**
   * Send an endpoint the messages since `since` that it matches and never
   * got (at most 10 000 a call; `more` says when there are others); with
   * `dry_run` only count them (BackfillDryRun).
   */
  backfillEndpoint(tenant: string, endpoint: string, body: BodyOf<'backfillEndpoint'>, options?: RequestOptions): Call<'backfillEndpoint'>;

  // Messages

  /**
   * Publish a message: the answer (202) means it is stored and will be
   * delivered. An Idempotency-Key is sent (a random UUID unless given), so a
   * retry after a lost answer does not publish twice.
   */
  publishMessage(tenant: string, body: BodyOf<'publishMessage'>, options?: PublishOptions): Call<'publishMessage'>;
  /** List a tenant's messages. */
  listMessages(tenant: string, query?: QueryOf<'listMessages'>, options?: RequestOptions): List<'listMessages'>;
  /** Read a message with its deliveries. */
  getMessage(tenant: string, message: string, options?: RequestOptions): Call<'getMessage'>;
  /** List a message's attempts. */
  listMessageAttempts(tenant: string, message: string, query?: QueryOf<'listMessageAttempts'>, options?: RequestOptions): List<'listMessageAttempts'>;
  /** Read one attempt of a tenant's. */
  getAttempt(tenant: string, attempt: string, options?: RequestOptions): Call<'getAttempt'>;
  /** Resend a message to all its endpoints, or to one. */
  resendMessage(tenant: string, message: string, body?: BodyOf<'resendMessage'>, options?: RequestOptions): Call<'resendMessage'>;
  /** Remove a message's content (payloads, attempts' response bodies); its metadata stays, marked expunged. Admin keys only. */
  expungeMessage(tenant: string, message: string, options?: RequestOptions): Call<'expungeMessage'>;

  // Replays

  /** Replay failed deliveries in bulk; with `dry_run` it only counts them (ReplayDryRun). */
  createReplay(body: BodyOf<'createReplay'>, options?: RequestOptions): Call<'createReplay'>;
  /** Replays, newest first. */
  listReplays(query?: QueryOf<'listReplays'>, options?: RequestOptions): List<'listReplays'>;
  /** A replay's progress. */
  getReplay(replay: string, options?: RequestOptions): Call<'getReplay'>;

  // Portal sessions: the session cookie goes in HookdOptions.headers

  /** The current portal session. */
  getPortalSession(options?: RequestOptions): Call<'getPortalSession'>;
  /** End the current portal session (send the session's X-CSRF-Token header). */
  portalLogout(options?: RequestOptions): Call<'portalLogout'>;
  /** Exchange a portal link's token for a session token (an embedded portal's session); use it as apiKey. */
  createPortalSession(body: BodyOf<'createPortalSession'>, options?: RequestOptions): Call<'createPortalSession'>;

  // Across tenants, for operators

  /** Failing endpoints of every tenant. */
  listFailingEndpoints(query?: QueryOf<'listFailingEndpoints'>, options?: RequestOptions): List<'listFailingEndpoints'>;
  /** Deliveries of every tenant. */
  listDeliveries(query?: QueryOf<'listDeliveries'>, options?: RequestOptions): List<'listDeliveries'>;
  /** River's queue. */
  getQueue(options?: RequestOptions): Call<'getQueue'>;

  // Operational endpoints: the SaaS's own, told of its customers' endpoints (admin keys)

  /** Create an operational endpoint; `event_types` chooses among the operational event types. */
  createOperationalEndpoint(body: BodyOf<'createOperationalEndpoint'>, options?: RequestOptions): Call<'createOperationalEndpoint'>;
  /** List the operational endpoints. */
  listOperationalEndpoints(query?: QueryOf<'listOperationalEndpoints'>, options?: RequestOptions): List<'listOperationalEndpoints'>;
  /** Read an operational endpoint. */
  getOperationalEndpoint(endpoint: string, options?: RequestOptions): Call<'getOperationalEndpoint'>;
  /** Update an operational endpoint; fields left out keep their value. */
  updateOperationalEndpoint(endpoint: string, body: BodyOf<'updateOperationalEndpoint'>, options?: RequestOptions): Call<'updateOperationalEndpoint'>;
  /** Delete an operational endpoint. */
  deleteOperationalEndpoint(endpoint: string, options?: RequestOptions): Call<'deleteOperationalEndpoint'>;
  /** Read an operational endpoint's signing secret. */
  getOperationalEndpointSecret(endpoint: string, options?: RequestOptions): Call<'getOperationalEndpointSecret'>;
  /** Rotate an operational endpoint's signing secret. */
  rotateOperationalEndpointSecret(endpoint: string, body?: BodyOf<'rotateOperationalEndpointSecret'>, options?: RequestOptions): Call<'rotateOperationalEndpointSecret'>;
  /** List attempts to an operational endpoint. */
  listOperationalEndpointAttempts(endpoint: string, query?: QueryOf<'listOperationalEndpointAttempts'>, options?: RequestOptions): List<'listOperationalEndpointAttempts'>;
}
