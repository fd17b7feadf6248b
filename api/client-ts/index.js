// @hookd/client: a client for hookd's REST API, for Node 20+.
//
// Plain ES module JavaScript with no dependencies: it uses the global fetch.
// Its types are in index.d.ts, written over schema.d.ts, which
// openapi-typescript generates from api/openapi.json (`npm run gen`).
//
// Every operation of the OpenAPI document has a method named by its
// operationId. Path parameters come first, then the request body (when the
// operation has one), then the query (for lists), then RequestOptions.

/** @typedef {import('./index.js').HookdOptions} HookdOptions */
/** @typedef {import('./index.js').RequestOptions} RequestOptions */
/** @typedef {import('./index.js').PublishOptions} PublishOptions */
/** @typedef {import('./schema.js').components['schemas']['Problem']} Problem */

const VERSION = '0.1.0';

/** Methods that may be sent again without changing the outcome. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/**
 * HookdError is thrown for every answer that is not 2xx. hookd answers
 * errors with an RFC 9457 problem (application/problem+json); a validation
 * failure (422) names every field at fault in `errors`.
 */
export class HookdError extends Error {
  /**
   * @param {string} method the request's method
   * @param {string} path the request's path
   * @param {number} status the HTTP status
   * @param {Problem} problem the problem answered (or one made up from a
   *   body that was not a problem)
   * @param {Headers} headers the response headers
   */
  constructor(method, path, status, problem, headers) {
    super(`hookd: ${method} ${path}: ${status} ${problem.title}: ${problem.detail}`);
    this.name = 'HookdError';
    /** The HTTP status, e.g. 422. */
    this.status = status;
    /** The problem type, `about:blank` when it is only the status. */
    this.type = problem.type;
    /** The status in words, e.g. "Unprocessable Entity". */
    this.title = problem.title;
    /** What went wrong, e.g. "url: must be an absolute http or https URL". */
    this.detail = problem.detail;
    /** For validation failures: every field at fault. */
    this.errors = problem.errors ?? [];
    /** The problem as answered. */
    this.problem = problem;
    /** The response headers (e.g. Retry-After, Allow). */
    this.headers = headers;
  }

  /**
   * The message of the error for field, or undefined when it is not at fault.
   * @param {string} field
   * @returns {string | undefined}
   */
  fieldError(field) {
    return this.errors.find((e) => e.field === field)?.message;
  }
}

/**
 * Pager is what list methods return. Awaited, it is the first page
 * (`{data, next_cursor}`); iterated with `for await`, it yields every item of
 * every page, following `next_cursor`; `pages()` yields the pages. Nothing is
 * sent until it is awaited or iterated.
 * @template {{data: unknown[], next_cursor: string | null}} P
 */
export class Pager {
  /** @type {(cursor: string | undefined) => Promise<P>} */
  #fetchPage;
  /** @type {string | undefined} */
  #cursor;
  /** @type {Promise<P> | undefined} */
  #first;

  /**
   * @param {(cursor: string | undefined) => Promise<P>} fetchPage
   * @param {string | undefined} cursor where to start
   */
  constructor(fetchPage, cursor) {
    this.#fetchPage = fetchPage;
    this.#cursor = cursor;
  }

  /** @returns {Promise<P>} */
  #firstPage() {
    this.#first ??= this.#fetchPage(this.#cursor);
    return this.#first;
  }

  /**
   * @template [A=P]
   * @template [B=never]
   * @param {((page: P) => A | PromiseLike<A>) | null} [onFulfilled]
   * @param {((reason: unknown) => B | PromiseLike<B>) | null} [onRejected]
   * @returns {Promise<A | B>}
   */
  then(onFulfilled, onRejected) {
    return this.#firstPage().then(onFulfilled, onRejected);
  }

  /**
   * @template [B=never]
   * @param {((reason: unknown) => B | PromiseLike<B>) | null} [onRejected]
   * @returns {Promise<P | B>}
   */
  catch(onRejected) {
    return this.#firstPage().catch(onRejected);
  }

  /**
   * @param {(() => void) | null} [onFinally]
   * @returns {Promise<P>}
   */
  finally(onFinally) {
    return this.#firstPage().finally(onFinally);
  }

  /**
   * Every page, from the first until one has no next_cursor.
   * @returns {AsyncGenerator<P, void, undefined>}
   */
  async *pages() {
    let page = await this.#firstPage();
    yield page;
    while (page.next_cursor) {
      page = await this.#fetchPage(page.next_cursor);
      yield page;
    }
  }

  /** @returns {AsyncGenerator<P['data'][number], void, undefined>} */
  async *[Symbol.asyncIterator]() {
    for await (const page of this.pages()) {
      for (const item of page.data) yield /** @type {P['data'][number]} */ (item);
    }
  }
}

/**
 * Hookd is a client of one hookd server.
 *
 * @example
 * const hookd = new Hookd({ baseURL: 'http://127.0.0.1:8080', apiKey: process.env.HOOKD_ADMIN_KEY });
 * await hookd.upsertTenant('acme', { name: 'Acme' });
 * await hookd.publishMessage('acme', { event_type: 'invoice.paid', payload: { id: 'inv_1' } });
 */
export class Hookd {
  /** @type {string} */
  #base;
  /** @type {Record<string, string>} */
  #headers;
  /** @type {typeof fetch} */
  #fetch;
  /** @type {number} */
  #retries;
  /** @type {number} */
  #timeoutMs;
  /** @type {number} */
  #retryDelayMs;

  /** @param {HookdOptions} options */
  constructor(options) {
    if (!options || !options.baseURL) {
      throw new TypeError('hookd: baseURL is required, e.g. new Hookd({ baseURL: "http://127.0.0.1:8080", apiKey })');
    }
    const base = new URL(options.baseURL);
    this.#base = base.href.replace(/\/+$/, '');
    this.#headers = {
      'user-agent': `hookd-client-ts/${VERSION}`,
      accept: 'application/json, application/problem+json',
      ...lowerKeys(options.headers),
    };
    if (options.apiKey) {
      this.#headers.authorization = `Bearer ${options.apiKey}`;
    }
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#retries = options.retries ?? 3;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retryDelayMs = options.retryDelayMs ?? 200;
  }

  // --- Health and the document ---

  /** Liveness. @param {RequestOptions} [options] */
  getHealthz(options) {
    return this.request('GET', '/healthz', options);
  }

  /** Readiness: 503 (a HookdError) when the database does not answer. @param {RequestOptions} [options] */
  getReadyz(options) {
    return this.request('GET', '/readyz', options);
  }

  /** Prometheus metrics, as text. @param {RequestOptions} [options] */
  getMetrics(options) {
    return this.request('GET', '/metrics', { ...options, accept: 'text/plain' });
  }

  /** The OpenAPI document. @param {RequestOptions} [options] */
  getOpenAPI(options) {
    return this.request('GET', '/api/openapi.json', options);
  }

  // --- Tenants ---

  /** List tenants. @param {Record<string, unknown>} [query] @param {RequestOptions} [options] */
  listTenants(query, options) {
    return this.#list('/api/v1/tenants', query, options);
  }

  /** Create or update a tenant. @param {string} tenant @param {object} [body] @param {RequestOptions} [options] */
  upsertTenant(tenant, body = {}, options) {
    return this.request('PUT', `/api/v1/tenants/${seg(tenant)}`, { ...options, body });
  }

  /** Read a tenant. @param {string} tenant @param {RequestOptions} [options] */
  getTenant(tenant, options) {
    return this.request('GET', `/api/v1/tenants/${seg(tenant)}`, options);
  }

  /** Delete a tenant with all it owns. @param {string} tenant @param {RequestOptions} [options] */
  deleteTenant(tenant, options) {
    return this.request('DELETE', `/api/v1/tenants/${seg(tenant)}`, options);
  }

  /** Mint a tenant-scoped API key (shown once). @param {string} tenant @param {object} [body] @param {RequestOptions} [options] */
  createTenantKey(tenant, body = {}, options) {
    return this.request('POST', `/api/v1/tenants/${seg(tenant)}/keys`, { ...options, body });
  }

  /** List a tenant's keys. @param {string} tenant @param {RequestOptions} [options] */
  listTenantKeys(tenant, options) {
    return this.request('GET', `/api/v1/tenants/${seg(tenant)}/keys`, options);
  }

  /** Revoke a tenant key. @param {string} tenant @param {string} key @param {RequestOptions} [options] */
  revokeTenantKey(tenant, key, options) {
    return this.request('DELETE', `/api/v1/tenants/${seg(tenant)}/keys/${seg(key)}`, options);
  }

  /** Mint a single-use portal login link. @param {string} tenant @param {object} [body] @param {RequestOptions} [options] */
  createPortalLink(tenant, body = {}, options) {
    return this.request('POST', `/api/v1/tenants/${seg(tenant)}/portal-links`, { ...options, body });
  }

  /** End all portal sessions of a tenant. @param {string} tenant @param {RequestOptions} [options] */
  revokePortalSessions(tenant, options) {
    return this.request('POST', `/api/v1/tenants/${seg(tenant)}/sessions/revoke`, options);
  }

  // --- Event types ---

  /** Create an event type. @param {object} body @param {RequestOptions} [options] */
  createEventType(body, options) {
    return this.request('POST', '/api/v1/event-types', { ...options, body });
  }

  /** List event types. @param {Record<string, unknown>} [query] @param {RequestOptions} [options] */
  listEventTypes(query, options) {
    return this.#list('/api/v1/event-types', query, options);
  }

  /** Read an event type. @param {string} name @param {RequestOptions} [options] */
  getEventType(name, options) {
    return this.request('GET', `/api/v1/event-types/${seg(name)}`, options);
  }

  /**
   * Create or replace an event type (event types as code): the body is the
   * whole event type, and sending the same body again changes nothing.
   * @param {string} name @param {object} [body] @param {RequestOptions} [options]
   */
  putEventType(name, body = {}, options) {
    return this.request('PUT', `/api/v1/event-types/${seg(name)}`, { ...options, body });
  }

  /** Update an event type. @param {string} name @param {object} body @param {RequestOptions} [options] */
  updateEventType(name, body, options) {
    return this.request('PATCH', `/api/v1/event-types/${seg(name)}`, { ...options, body });
  }

  /** Archive an event type. @param {string} name @param {RequestOptions} [options] */
  archiveEventType(name, options) {
    return this.request('DELETE', `/api/v1/event-types/${seg(name)}`, options);
  }

  /**
   * The endpoints, of every tenant, that pin a version of an event type (who still uses a deprecated one).
   * @param {string} name @param {number | string} version @param {Record<string, unknown>} [query] @param {RequestOptions} [options]
   */
  listVersionEndpoints(name, version, query, options) {
    return this.#list(`/api/v1/event-types/${seg(name)}/versions/${seg(String(version))}/endpoints`, query, options);
  }

  // --- Endpoints ---

  /** Create an endpoint (its secret is generated unless given). @param {string} tenant @param {object} body @param {RequestOptions} [options] */
  createEndpoint(tenant, body, options) {
    return this.request('POST', `/api/v1/tenants/${seg(tenant)}/endpoints`, { ...options, body });
  }

  /** List a tenant's endpoints. @param {string} tenant @param {Record<string, unknown>} [query] @param {RequestOptions} [options] */
  listEndpoints(tenant, query, options) {
    return this.#list(`/api/v1/tenants/${seg(tenant)}/endpoints`, query, options);
  }

  /** Read an endpoint. @param {string} tenant @param {string} endpoint @param {RequestOptions} [options] */
  getEndpoint(tenant, endpoint, options) {
    return this.request('GET', endpointPath(tenant, endpoint), options);
  }

  /** Update an endpoint. @param {string} tenant @param {string} endpoint @param {object} body @param {RequestOptions} [options] */
  updateEndpoint(tenant, endpoint, body, options) {
    return this.request('PATCH', endpointPath(tenant, endpoint), { ...options, body });
  }

  /** Delete an endpoint. @param {string} tenant @param {string} endpoint @param {RequestOptions} [options] */
  deleteEndpoint(tenant, endpoint, options) {
    return this.request('DELETE', endpointPath(tenant, endpoint), options);
  }

  /** Read the signing secret. @param {string} tenant @param {string} endpoint @param {RequestOptions} [options] */
  getEndpointSecret(tenant, endpoint, options) {
    return this.request('GET', `${endpointPath(tenant, endpoint)}/secret`, options);
  }

  /** Rotate the signing secret. @param {string} tenant @param {string} endpoint @param {object} [body] @param {RequestOptions} [options] */
  rotateEndpointSecret(tenant, endpoint, body = {}, options) {
    return this.request('POST', `${endpointPath(tenant, endpoint)}/secret/rotate`, { ...options, body });
  }

  /** Re-send the endpoint's failed deliveries in a window. @param {string} tenant @param {string} endpoint @param {object} body @param {RequestOptions} [options] */
  recoverEndpoint(tenant, endpoint, body, options) {
    return this.request('POST', `${endpointPath(tenant, endpoint)}/recover`, { ...options, body });
  }

  /** List attempts to an endpoint. @param {string} tenant @param {string} endpoint @param {Record<string, unknown>} [query] @param {RequestOptions} [options] */
  listEndpointAttempts(tenant, endpoint, query, options) {
    return this.#list(`${endpointPath(tenant, endpoint)}/attempts`, query, options);
  }

  /** An endpoint's health over 24 hours. @param {string} tenant @param {string} endpoint @param {RequestOptions} [options] */
  getEndpointStats(tenant, endpoint, options) {
    return this.request('GET', `${endpointPath(tenant, endpoint)}/stats`, options);
  }

  /** Send an event type's example payload to one endpoint. @param {string} tenant @param {string} endpoint @param {object} body @param {RequestOptions} [options] */
  sendTestEvent(tenant, endpoint, body, options) {
    return this.request('POST', `${endpointPath(tenant, endpoint)}/test`, { ...options, body });
  }

  /**
   * Start a receiver self-check of an endpoint: the answer is the check,
   * running; poll getEndpointCheck until its status is no longer `running`.
   * @param {string} tenant @param {string} endpoint @param {object} [body] @param {RequestOptions} [options]
   */
  startEndpointCheck(tenant, endpoint, body, options) {
    return this.request('POST', `${endpointPath(tenant, endpoint)}/check`, { ...options, body: body ?? {} });
  }

  /** List an endpoint's self-checks, newest first. @param {string} tenant @param {string} endpoint @param {Record<string, unknown>} [query] @param {RequestOptions} [options] */
  listEndpointChecks(tenant, endpoint, query, options) {
    return this.#list(`${endpointPath(tenant, endpoint)}/checks`, query, options);
  }

  /** Read a self-check and its report. @param {string} tenant @param {string} endpoint @param {string} check @param {RequestOptions} [options] */
  getEndpointCheck(tenant, endpoint, check, options) {
    return this.request('GET', `${endpointPath(tenant, endpoint)}/checks/${seg(check)}`, options);
  }

  /** Send an endpoint the past messages it matches (with dry_run: only count them). @param {string} tenant @param {string} endpoint @param {object} body @param {RequestOptions} [options] */
  backfillEndpoint(tenant, endpoint, body, options) {
    return this.request('POST', `${endpointPath(tenant, endpoint)}/backfill`, { ...options, body });
  }

  // --- Messages ---

  /**
   * Publish a message: 202 means it is stored and will be delivered. Sends
   * an Idempotency-Key (options.idempotencyKey, else a random UUID) unless
   * the body has an idempotency_key, so that a retry after a lost answer
   * does not publish twice; `idempotencyKey: false` sends none (and then a
   * failed publish is not retried).
   * @param {string} tenant @param {object & {idempotency_key?: string}} body @param {PublishOptions} [options]
   */
  publishMessage(tenant, body, options = {}) {
    const { idempotencyKey, ...rest } = options;
    const headers = { ...lowerKeys(rest.headers) };
    let keyed = Boolean(body?.idempotency_key);
    if (!keyed && idempotencyKey !== false) {
      headers['idempotency-key'] = idempotencyKey ?? globalThis.crypto.randomUUID();
      keyed = true;
    }
    return this.request('POST', `/api/v1/tenants/${seg(tenant)}/messages`, { ...rest, headers, body, idempotent: keyed });
  }

  /** List a tenant's messages. @param {string} tenant @param {Record<string, unknown>} [query] @param {RequestOptions} [options] */
  listMessages(tenant, query, options) {
    return this.#list(`/api/v1/tenants/${seg(tenant)}/messages`, query, options);
  }

  /** Read a message with its deliveries. @param {string} tenant @param {string} message @param {RequestOptions} [options] */
  getMessage(tenant, message, options) {
    return this.request('GET', messagePath(tenant, message), options);
  }

  /** List a message's attempts. @param {string} tenant @param {string} message @param {Record<string, unknown>} [query] @param {RequestOptions} [options] */
  listMessageAttempts(tenant, message, query, options) {
    return this.#list(`${messagePath(tenant, message)}/attempts`, query, options);
  }

  /** Read one attempt of a tenant's. @param {string} tenant @param {string} attempt @param {RequestOptions} [options] */
  getAttempt(tenant, attempt, options) {
    return this.request('GET', `/api/v1/tenants/${seg(tenant)}/attempts/${seg(attempt)}`, options);
  }

  /** Resend a message to all its endpoints, or one. @param {string} tenant @param {string} message @param {object} [body] @param {RequestOptions} [options] */
  resendMessage(tenant, message, body = {}, options) {
    return this.request('POST', `${messagePath(tenant, message)}/resend`, { ...options, body });
  }

  /** Remove a message's content (payloads, attempts' response bodies); its metadata stays, marked expunged. Admin keys only. @param {string} tenant @param {string} message @param {RequestOptions} [options] */
  expungeMessage(tenant, message, options) {
    return this.request('DELETE', `${messagePath(tenant, message)}/content`, options);
  }

  // --- Replays ---

  /** Replay failed deliveries in bulk (with dry_run: only count them). @param {object} body @param {RequestOptions} [options] */
  createReplay(body, options) {
    return this.request('POST', '/api/v1/replays', { ...options, body });
  }

  /** Replays, newest first. @param {Record<string, unknown>} [query] @param {RequestOptions} [options] */
  listReplays(query, options) {
    return this.#list('/api/v1/replays', query, options);
  }

  /** A replay's progress. @param {string} replay @param {RequestOptions} [options] */
  getReplay(replay, options) {
    return this.request('GET', `/api/v1/replays/${seg(replay)}`, options);
  }

  // --- Portal sessions (a session cookie, given in HookdOptions.headers) ---

  /** The current portal session. @param {RequestOptions} [options] */
  getPortalSession(options) {
    return this.request('GET', '/api/v1/portal/session', options);
  }

  /** End the current portal session (needs the X-CSRF-Token header). @param {RequestOptions} [options] */
  portalLogout(options) {
    return this.request('POST', '/api/v1/portal/logout', options);
  }

  /** Exchange a portal link's token for a session token, as the embedded portal does; use it as apiKey. @param {object} body @param {RequestOptions} [options] */
  createPortalSession(body, options) {
    return this.request('POST', '/api/v1/portal/sessions', { ...options, body });
  }

  // --- Across tenants, for operators ---

  /** Failing endpoints of every tenant. @param {Record<string, unknown>} [query] @param {RequestOptions} [options] */
  listFailingEndpoints(query, options) {
    return this.#list('/api/v1/endpoints/failing', query, options);
  }

  /** Deliveries of every tenant. @param {Record<string, unknown>} [query] @param {RequestOptions} [options] */
  listDeliveries(query, options) {
    return this.#list('/api/v1/deliveries', query, options);
  }

  /** River's queue. @param {RequestOptions} [options] */
  getQueue(options) {
    return this.request('GET', '/api/v1/queue', options);
  }

  // --- Operational endpoints: the SaaS's own, for admin keys ---

  /** Create an operational endpoint. @param {object} body @param {RequestOptions} [options] */
  createOperationalEndpoint(body, options) {
    return this.request('POST', '/api/v1/operational-endpoints', { ...options, body });
  }

  /** List the operational endpoints. @param {Record<string, unknown>} [query] @param {RequestOptions} [options] */
  listOperationalEndpoints(query, options) {
    return this.#list('/api/v1/operational-endpoints', query, options);
  }

  /** Read an operational endpoint. @param {string} endpoint @param {RequestOptions} [options] */
  getOperationalEndpoint(endpoint, options) {
    return this.request('GET', operationalPath(endpoint), options);
  }

  /** Update an operational endpoint. @param {string} endpoint @param {object} body @param {RequestOptions} [options] */
  updateOperationalEndpoint(endpoint, body, options) {
    return this.request('PATCH', operationalPath(endpoint), { ...options, body });
  }

  /** Delete an operational endpoint. @param {string} endpoint @param {RequestOptions} [options] */
  deleteOperationalEndpoint(endpoint, options) {
    return this.request('DELETE', operationalPath(endpoint), options);
  }

  /** Read an operational endpoint's signing secret. @param {string} endpoint @param {RequestOptions} [options] */
  getOperationalEndpointSecret(endpoint, options) {
    return this.request('GET', `${operationalPath(endpoint)}/secret`, options);
  }

  /** Rotate an operational endpoint's signing secret. @param {string} endpoint @param {object} [body] @param {RequestOptions} [options] */
  rotateOperationalEndpointSecret(endpoint, body = {}, options) {
    return this.request('POST', `${operationalPath(endpoint)}/secret/rotate`, { ...options, body });
  }

  /** List attempts to an operational endpoint. @param {string} endpoint @param {Record<string, unknown>} [query] @param {RequestOptions} [options] */
  listOperationalEndpointAttempts(endpoint, query, options) {
    return this.#list(`${operationalPath(endpoint)}/attempts`, query, options);
  }

  // --- The machinery ---

  /**
   * A list as a Pager: query.cursor (if any) is where it starts.
   * @param {string} path @param {Record<string, unknown>} [query] @param {RequestOptions} [options]
   */
  #list(path, query = {}, options) {
    const { cursor, ...rest } = query;
    return new Pager(
      (c) => this.request('GET', path, { ...options, query: c === undefined ? rest : { ...rest, cursor: c } }),
      /** @type {string | undefined} */ (cursor),
    );
  }

  /**
   * request sends one API call and returns its decoded answer: the JSON
   * body, the text for text/plain, undefined for 204. A non-2xx answer
   * throws a HookdError. Idempotent calls (GET, HEAD, PUT, DELETE, or
   * `idempotent: true`) are sent again on 503 or a network error, with
   * exponential backoff, up to `retries` times.
   *
   * @param {string} method
   * @param {string} path the path with its parameters already in it, e.g. /api/v1/tenants/acme
   * @param {RequestOptions & {body?: unknown, query?: Record<string, unknown>, idempotent?: boolean, accept?: string}} [options]
   * @returns {Promise<any>}
   */
  async request(method, path, options = {}) {
    const url = new URL(this.#base + path);
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v === undefined || v === null) continue;
      url.searchParams.set(k, v instanceof Date ? v.toISOString() : String(v));
    }
    /** @type {Record<string, string>} */
    const headers = { ...this.#headers, ...lowerKeys(options.headers) };
    if (options.accept) headers.accept = options.accept;
    let body;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const idempotent = options.idempotent ?? IDEMPOTENT.has(method);
    const retries = idempotent ? (options.retries ?? this.#retries) : 0;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;

    for (let attempt = 0; ; attempt++) {
      options.signal?.throwIfAborted();
      const signals = [AbortSignal.timeout(timeoutMs)];
      if (options.signal) signals.push(options.signal);
      let res;
      try {
        res = await this.#fetch(url, { method, headers, body, signal: AbortSignal.any(signals) });
      } catch (err) {
        // The caller's abort is final; a timeout or a network error is retried.
        if (options.signal?.aborted || attempt >= retries) throw err;
        await sleep(this.#backoff(attempt, null), options.signal);
        continue;
      }
      if (res.status === 503 && attempt < retries) {
        await res.body?.cancel();
        await sleep(this.#backoff(attempt, res.headers.get('retry-after')), options.signal);
        continue;
      }
      return decode(method, path, res);
    }
  }

  /**
   * How long to wait before retry attempt+1: retryDelayMs doubled each
   * time, with jitter, at most 10 s; at least Retry-After (in seconds) when
   * the server sent one, within the same cap.
   * @param {number} attempt @param {string | null} retryAfter
   */
  #backoff(attempt, retryAfter) {
    const exp = this.#retryDelayMs * 2 ** attempt;
    let ms = exp / 2 + Math.random() * (exp / 2);
    const after = Number(retryAfter);
    if (retryAfter && Number.isFinite(after)) ms = Math.max(ms, after * 1000);
    return Math.min(ms, 10_000);
  }
}

/**
 * decode turns a response into its value, or throws a HookdError.
 * @param {string} method @param {string} path @param {Response} res
 */
async function decode(method, path, res) {
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  if (res.status >= 200 && res.status < 300) {
    if (res.status === 204 || text === '') return undefined;
    return /[/+]json\b/.test(type) ? JSON.parse(text) : text;
  }
  /** @type {Problem | undefined} */
  let problem;
  if (/[/+]json\b/.test(type)) {
    try {
      const p = JSON.parse(text);
      if (p && typeof p === 'object' && typeof p.detail === 'string') problem = p;
    } catch {
      // not JSON after all: described below from the text
    }
  }
  problem ??= {
    type: 'about:blank',
    title: res.statusText || `HTTP ${res.status}`,
    status: res.status,
    detail: text.trim().slice(0, 500) || res.statusText || `HTTP ${res.status}`,
  };
  throw new HookdError(method, path, res.status, problem, res.headers);
}

/** @param {string} tenant @param {string} endpoint */
function endpointPath(tenant, endpoint) {
  return `/api/v1/tenants/${seg(tenant)}/endpoints/${seg(endpoint)}`;
}

/** @param {string} endpoint */
function operationalPath(endpoint) {
  return `/api/v1/operational-endpoints/${seg(endpoint)}`;
}

/** @param {string} tenant @param {string} message */
function messagePath(tenant, message) {
  return `/api/v1/tenants/${seg(tenant)}/messages/${seg(message)}`;
}

/**
 * seg escapes one path segment; an empty one is refused here rather than
 * sent as a different route.
 * @param {string} value
 */
function seg(value) {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`hookd: a path parameter must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return encodeURIComponent(value);
}

/**
 * @param {HeadersInit | undefined} headers
 * @returns {Record<string, string>}
 */
function lowerKeys(headers) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const [k, v] of new Headers(headers ?? {})) out[k] = v;
  return out;
}

/**
 * @param {number} ms @param {AbortSignal | undefined} signal
 * @returns {Promise<void>}
 */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
