// The only module that talks to the Kubernetes API. @kubernetes/client-node loads the
// kubeconfig and applies its credentials (tokens, client certificates, exec plugins), in a
// worker thread (kubeconfig.ts); the requests themselves go as raw JSON, because lifeboat works
// on every resource generically (like client-node's KubernetesObjectApi) and the typed
// (de)serializers would cost more than the listing itself on large clusters. They are streams of
// one HTTP/2 connection when the server offers it (http2-connection.ts, ADRs 0052 and 0053),
// else requests on a keep-alive HTTP/1.1 agent; watches always use the agent.
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import { resolveKubeconfig, type KubeconfigOptions } from './kubeconfig.js';
import { TimeoutError } from './timeout-error.js';
import { Http2Connection, UnsentRequestError } from './http2-connection.js';
import pLimit, { type LimitFunction } from 'p-limit';
import { itemJsonOf } from './list-items.js';
import {
  AGGREGATED_DISCOVERY_ACCEPT,
  groupVersionsOfAggregated,
  isAggregatedDiscovery,
} from './aggregated-discovery.js';
import type { PodExecRequest, PodExecResult } from './pod-exec.js';
import type { KubeObject, ResourceInfo } from './types.js';
import { apiVersionOf } from './types.js';
import { LineSplitter, parseWatchLine, type WatchEvent } from './watch-stream.js';
import { parseJson, stringifyJson } from '../util/json.js';

export interface KubeClientOptions {
  kubeconfig?: string;
  context?: string;
  /**
   * Concurrent connections to the apiserver; 64 by default, as many as a restore applies at once
   * (restore/engine.ts DEFAULT_APPLY_CONCURRENCY). Each caller bounds its own requests in flight.
   */
  maxSockets?: number;
  /** Credentials are read again on a 401 at most this often; 30 s by default. */
  credentialRefreshIntervalMs?: number;
  /**
   * Requests go as streams of one HTTP/2 connection when the API server offers it (ADR 0052);
   * false: HTTP/1.1, one connection per request in flight. Watches always use HTTP/1.1.
   * Unset: HTTP/2 unless the environment variable DISABLE_HTTP2 is set (as client-go reads it).
   */
  http2?: boolean;
  /** Timeouts and retries of each request; DEFAULT_KUBE_NETWORK for what is not given. */
  network?: Partial<KubeNetworkOptions>;
}

/**
 * How long a request may wait on the API server, and how often it is tried. Without them a
 * frozen API server (or a connection silently dropped by a load balancer) holds a backup for
 * ever; with them a restart of the API server costs a few retries instead of lost objects.
 */
export interface KubeNetworkOptions {
  /** From sending the request to the response's headers. */
  responseTimeoutMs: number;
  /** No byte in either direction for this long, while connecting, sending or receiving. */
  idleTimeoutMs: number;
  /** Tries of one request in all (1: no retry). */
  attempts: number;
  /** The first retry waits about this long; each next one twice as long, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_KUBE_NETWORK: KubeNetworkOptions = {
  // A page of 500 large objects takes the API server a few seconds; a minute is generous.
  responseTimeoutMs: 60_000,
  idleTimeoutMs: 30_000,
  // 0.5 + 1 + 2 + 4 s of waiting: an API server restarting, a leader election in etcd.
  attempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
};

export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export class KubeUnreachableError extends Error {
  /** The socket error's code (ECONNREFUSED, ECONNRESET…), or 'timeout'. */
  readonly code: string;
  /**
   * A kept-alive connection was reset or closed as the request was sent on it, before any
   * answer: the server had closed it while idle, so the request never reached it.
   */
  staleConnection = false;
  constructor(server: string, cause: unknown, what?: string) {
    const code = (cause as { code?: string }).code ?? (cause as Error).message;
    const detail = cause instanceof TimeoutError ? `timed out: ${cause.message}` : code;
    super(`cannot reach the Kubernetes API at ${server}${what ? ` (${what})` : ''}: ${detail}`, { cause });
    this.name = 'KubeUnreachableError';
    this.code = code;
  }
}

/** Statuses that say "try again": throttled, or the server (or one behind it) not ready. */
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);

/**
 * Whether a failed request may succeed when repeated: the server could not be reached or did
 * not answer in time, or answered with a status that says to try again.
 */
export function isTransientKubeError(err: unknown): boolean {
  if (err instanceof KubeUnreachableError) return true;
  return err instanceof KubeApiError && RETRY_STATUSES.has(err.status);
}

export interface ListPage {
  /** The objects, with apiVersion and kind set (list responses leave them out). */
  items: KubeObject[];
  /**
   * The JSON of items[index] as the API server sent it (with apiVersion and kind), made on
   * demand: writing it costs no second serialization. Must be called before the item changes.
   */
  itemJson(index: number): Buffer;
  resourceVersion: string;
  continueToken?: string;
}

export interface ListOptions {
  namespace?: string;
  limit?: number;
  continueToken?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  labelSelector?: string;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  /** Events after this revision (a list's); absent: the objects there are now come first, as ADDED. */
  resourceVersion?: string;
  /** The API server ends the watch after this long (default 300); the caller starts another. */
  timeoutSeconds?: number;
  /** Ends the watch; watch() then resolves. */
  signal?: AbortSignal;
}

/** Raw discovery documents, as the apiserver serves them. */
export interface RawApiResource {
  name: string;
  singularName?: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
}

export interface RawGroupVersion {
  group: string;
  version: string;
  preferred: boolean;
  resources: RawApiResource[];
  /** Served by an aggregated API server (APIService with a service), not by kube-apiserver itself. */
  aggregated: boolean;
  /** Set when the group/version could not be discovered (e.g. its aggregated server is down). */
  unavailable?: string;
}

interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  contentType?: string;
  /**
   * Which failures are tried again. 'transient' (GETs): unreachable, timed out, 429 and 5xx.
   * 'unsent' (writes, by default): only a refused connection and 429, which tell that the
   * server did nothing; a write repeated after a timeout could be done twice.
   */
  retry?: 'transient' | 'unsent' | 'none';
  /** A successful answer's body is not parsed (the value is undefined); errors still are. */
  discardResponse?: boolean;
  /** The Accept header; application/json when not given. */
  accept?: string;
}

/** One request as it goes out, over either protocol; `what` names it in errors. */
interface Outgoing {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  what: string;
}

/** The legacy discovery documents of `/api` and `/apis`. */
interface LegacyCore {
  versions: string[];
}
interface LegacyGroups {
  groups: { name: string; versions: { version: string }[]; preferredVersion?: { version: string } }[];
}

const DEFAULT_MAX_SOCKETS = 64;

/**
 * Idle kept-alive connections are closed after this long. kube-apiserver closes them after 90 s
 * (its http.Server IdleTimeout); a request sent as the server closes one is reset, so the client
 * lets go first.
 */
const IDLE_CONNECTION_MS = 30_000;

/** Credentials are read again on a 401 at most this often (each read starts a process). */
const DEFAULT_CREDENTIAL_REFRESH_INTERVAL_MS = 30_000;

export class KubeClient {
  readonly server: string;
  private agent: HttpsAgent | HttpAgent;
  /** HTTP/2 unless asked not to or the server is plain HTTP (h2c is rarely served). */
  private readonly useHttp2: boolean;
  /** Absent: HTTP/1.1 only (asked for, a plain-HTTP server, or one that does not offer h2). */
  private http2: Http2Connection | undefined;
  /** Connections replaced by a credential refresh: they close once their streams end. */
  private readonly retiredHttp2: Http2Connection[] = [];
  /** Streams in flight on the HTTP/2 connection, as many as the HTTP/1.1 agent has sockets. */
  private readonly http2Limit: LimitFunction;
  /** Agents replaced by a credential refresh; closed with the client (requests may still use them). */
  private readonly retiredAgents: (HttpsAgent | HttpAgent)[] = [];
  private baseOptions: RequestOptions;
  private refreshing: Promise<void> | undefined;
  private lastRefresh = Date.now();

  private readonly maxSockets: number;
  /** Where the credentials came from, to read them again; absent: they never change. */
  private readonly source: KubeconfigOptions | undefined;
  private readonly refreshIntervalMs: number;
  private readonly network: KubeNetworkOptions;

  private constructor(o: {
    server: string;
    baseOptions: RequestOptions;
    maxSockets: number;
    source?: KubeconfigOptions;
    refreshIntervalMs?: number;
    network?: Partial<KubeNetworkOptions>;
    http2?: boolean;
  }) {
    this.network = { ...DEFAULT_KUBE_NETWORK, ...definedOnly(o.network ?? {}) };
    this.server = o.server.replace(/\/$/, '');
    this.baseOptions = o.baseOptions;
    this.maxSockets = o.maxSockets;
    this.source = o.source;
    this.refreshIntervalMs = o.refreshIntervalMs ?? DEFAULT_CREDENTIAL_REFRESH_INTERVAL_MS;
    this.agent = this.newAgent();
    this.http2Limit = pLimit(this.maxSockets);
    this.useHttp2 = o.http2 !== false && this.server.startsWith('https:');
    this.http2 = this.newHttp2();
  }

  static async create(opts: KubeClientOptions = {}): Promise<KubeClient> {
    // client-node reads the kubeconfig in a short-lived child process and never loads here
    // (kubeconfig.ts).
    const source: KubeconfigOptions = {
      ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
      ...(opts.context ? { context: opts.context } : {}),
    };
    const { server, options } = await resolveKubeconfig(source);
    return new KubeClient({
      server,
      baseOptions: options,
      maxSockets: opts.maxSockets ?? DEFAULT_MAX_SOCKETS,
      source,
      ...(opts.credentialRefreshIntervalMs === undefined
        ? {}
        : { refreshIntervalMs: opts.credentialRefreshIntervalMs }),
      ...(opts.network ? { network: opts.network } : {}),
      // DISABLE_HTTP2 set and not empty: HTTP/1.1, as client-go (kubectl) reads the same variable;
      // the way out for a proxy on the path that offers h2 and then mishandles it.
      http2: opts.http2 ?? !process.env.DISABLE_HTTP2,
    });
  }

  close(): void {
    this.agent.destroy();
    for (const agent of this.retiredAgents) agent.destroy();
    this.http2?.destroy();
    for (const connection of this.retiredHttp2) connection.destroy();
  }

  /**
   * One JSON request. Non-2xx answers become KubeApiError with the API's own message. On a 401
   * the credentials are read again once and the request repeated: tokens from exec plugins
   * (cloud providers' short-lived tokens) and token files (rotated service-account tokens)
   * expire while a reconciler runs for weeks.
   */
  async request<T>(spec: RequestSpec): Promise<T> {
    return (await this.requestWithBody<T>(spec)).value;
  }

  /**
   * request(), also returning the response's bytes. Failures that may pass are tried again
   * (spec.retry), waiting twice as long each time, with jitter so that concurrent requests do
   * not return together.
   */
  private async requestWithBody<T>(spec: RequestSpec): Promise<{ value: T; body: Buffer }> {
    const retry = spec.retry ?? (spec.method === 'GET' ? 'transient' : 'unsent');
    let staleRetries = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.requestOnce<T>(spec);
      } catch (err) {
        // A connection the server had closed while idle (the request never reached it): sent
        // again at once on another, and not counted as an attempt. Each such connection is
        // gone after its reset, so this ends within the pool's size.
        if (
          retry !== 'none' &&
          err instanceof KubeUnreachableError &&
          err.staleConnection &&
          staleRetries++ <= this.maxSockets
        ) {
          attempt--;
          continue;
        }
        if (attempt >= this.network.attempts || !retryable(err, retry)) throw err;
        const delay = Math.min(this.network.maxDelayMs, this.network.baseDelayMs * 2 ** (attempt - 1));
        await sleep(delay * (0.8 + Math.random() * 0.4));
      }
    }
  }

  private async requestOnce<T>(spec: RequestSpec): Promise<{ value: T; body: Buffer }> {
    const started = this.lastRefresh;
    let res = await this.send(spec);
    if (res.status === 401 && (await this.refreshCredentials(started))) res = await this.send(spec);
    if (res.status >= 200 && res.status < 300 && spec.discardResponse)
      return { value: undefined as T, body: res.body };
    const text = res.body.toString('utf8');
    if (res.status >= 200 && res.status < 300)
      return { value: (text === '' ? {} : parseJson(text)) as T, body: res.body };
    throw toApiError(res.status, text, `${spec.method} ${res.path}`);
  }

  private async send(spec: RequestSpec): Promise<{ status: number; body: Buffer; path: string }> {
    const url = new URL(this.server + spec.path);
    for (const [k, v] of Object.entries(spec.query ?? {})) {
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    }
    const body = spec.body === undefined ? undefined : stringifyJson(spec.body);
    const headers: Record<string, string> = {
      ...(this.baseOptions.headers as Record<string, string> | undefined),
      accept: spec.accept ?? 'application/json',
    };
    if (body !== undefined) {
      headers['content-type'] = spec.contentType ?? 'application/json';
      // With its length known and the body sent with end(), the request goes out in one write,
      // not chunked: chunk framing is more to write here and to decode in the API server.
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const what = `${spec.method} ${url.pathname}`;
    const http2 = this.http2;
    if (http2) {
      const answer = await this.http2Limit(() =>
        this.sendHttp2(http2, { url, method: spec.method, headers, body, what }),
      );
      if (answer !== 'http/1.1') return { ...answer, path: url.pathname };
      // The server offered only HTTP/1.1 (ALPN): this request and all after go that way.
      if (this.http2 === http2) this.http2 = undefined;
    }
    const answer = await this.sendHttp1({ url, method: spec.method, headers, body, what });
    return { ...answer, path: url.pathname };
  }

  private async sendHttp2(
    connection: Http2Connection,
    { url, method, headers, body, what }: Outgoing,
  ): Promise<{ status: number; body: Buffer } | 'http/1.1'> {
    const { responseTimeoutMs, idleTimeoutMs } = this.network;
    try {
      return await connection.request({
        method,
        path: url.pathname + url.search,
        headers,
        body,
        responseTimeoutMs,
        idleTimeoutMs,
      });
    } catch (err) {
      const unreachable = new KubeUnreachableError(this.server, err, what);
      unreachable.staleConnection = err instanceof UnsentRequestError;
      throw unreachable;
    }
  }

  private sendHttp1({
    url,
    method,
    headers,
    body,
    what,
  }: Outgoing): Promise<{ status: number; body: Buffer }> {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const { responseTimeoutMs, idleTimeoutMs } = this.network;
    return new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      let answered = false;
      const fail = (err: Error): void => {
        const unreachable = new KubeUnreachableError(this.server, err, what);
        const code = (err as { code?: string }).code;
        unreachable.staleConnection =
          req.reusedSocket && !answered && (code === 'ECONNRESET' || code === 'EPIPE');
        reject(unreachable);
      };
      const req = send(url, { ...this.baseOptions, method, headers, agent: this.agent }, (res) => {
        answered = true;
        clearTimeout(responseTimer);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        // A response cut short (the server went away, or the idle timeout below).
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('response aborted')));
      });
      const responseTimer = setTimeout(() => {
        req.destroy(new TimeoutError(`no response in ${responseTimeoutMs} ms`));
      }, responseTimeoutMs);
      // Idle: no byte for this long while connecting, sending or receiving the body.
      req.setTimeout(idleTimeoutMs, () => {
        req.destroy(new TimeoutError(`no data for ${idleTimeoutMs} ms`));
      });
      req.on('error', (err) => {
        clearTimeout(responseTimer);
        fail(err);
      });
      req.end(body);
    });
  }

  /**
   * Read the credentials again after a 401 on a request sent at `sentAfter` (a refresh time).
   * Concurrent 401s share one refresh; one that a refresh has happened since is simply
   * repeated; otherwise at most one refresh per interval, so wrong credentials cost a
   * process start per interval, not per request. Whether the request should be repeated.
   */
  private async refreshCredentials(sentAfter: number): Promise<boolean> {
    if (!this.source) return false;
    if (this.lastRefresh !== sentAfter) return true;
    if (!this.refreshing) {
      if (Date.now() - this.lastRefresh < this.refreshIntervalMs) return false;
      this.refreshing = (async () => {
        try {
          const { options } = await resolveKubeconfig(this.source);
          const tlsChanged = JSON.stringify(pickTls(options)) !== JSON.stringify(pickTls(this.baseOptions));
          this.baseOptions = options;
          if (tlsChanged) {
            this.retiredAgents.push(this.agent);
            this.agent = this.newAgent();
            if (this.http2) {
              this.http2.close();
              this.retiredHttp2.push(this.http2);
              this.http2 = this.newHttp2();
            }
          }
        } finally {
          this.lastRefresh = Date.now();
          this.refreshing = undefined;
        }
      })();
    }
    await this.refreshing.catch(() => undefined);
    return true;
  }

  private newHttp2(): Http2Connection | undefined {
    if (!this.useHttp2) return undefined;
    return new Http2Connection({
      authority: this.server,
      tls: sharedTls(pickTls(this.baseOptions)),
      idleMs: IDLE_CONNECTION_MS,
      connectTimeoutMs: this.network.idleTimeoutMs,
    });
  }

  private newAgent(): HttpsAgent | HttpAgent {
    const tlsOptions = pickTls(this.baseOptions);
    const agentOptions = {
      keepAlive: true,
      maxSockets: this.maxSockets,
      // Node's agent closes a free (idle) socket when its timeout passes; requests set their own.
      timeout: IDLE_CONNECTION_MS,
      ...tlsOptions,
    };
    if (!this.server.startsWith('https:')) return new HttpAgent(agentOptions);
    return new HttpsAgent({ ...agentOptions, ...sharedTls(tlsOptions) });
  }

  /**
   * Raw discovery: every group/version with its resources, marking aggregated ones. Asked in
   * the aggregated form first (aggregated-discovery.ts: `/api` and `/apis`, 3 requests with the
   * APIService list instead of ~28); an API server that does not give it, or an aggregated API
   * whose documents it could not refresh, is asked one group version at a time as before, so
   * that an unavailable aggregated API is reported as such (503) and everything else is read.
   */
  async discover(opts: { aggregatedForm?: boolean } = {}): Promise<RawGroupVersion[]> {
    const accept = opts.aggregatedForm === false ? 'application/json' : AGGREGATED_DISCOVERY_ACCEPT;
    const [coreDoc, groupsDoc, aggregated] = await Promise.all([
      this.request<unknown>({ method: 'GET', path: '/api', accept }),
      this.request<unknown>({ method: 'GET', path: '/apis', accept }),
      this.aggregatedGroupVersions(),
    ]);
    if (!isAggregatedDiscovery(coreDoc) || !isAggregatedDiscovery(groupsDoc))
      return this.discoverEach(coreDoc as LegacyCore, groupsDoc as LegacyGroups, aggregated);
    const { groupVersions, stale } = groupVersionsOfAggregated(coreDoc, groupsDoc);
    const fresh = new Set(groupVersions.map(apiVersionOf));
    for (const gv of stale) fresh.delete(gv);
    if ([...aggregated].every((gv) => fresh.has(gv)))
      return groupVersions.map((gv) => ({ ...gv, aggregated: aggregated.has(apiVersionOf(gv)) }));
    const [core, groups] = await Promise.all([
      this.request<LegacyCore>({ method: 'GET', path: '/api' }),
      this.request<LegacyGroups>({ method: 'GET', path: '/apis' }),
    ]);
    return this.discoverEach(core, groups, aggregated);
  }

  /** Discovery from the legacy documents: one request per group version. */
  private async discoverEach(
    core: LegacyCore,
    groups: LegacyGroups,
    aggregated: Set<string>,
  ): Promise<RawGroupVersion[]> {
    const targets: { group: string; version: string; preferred: boolean }[] = [
      ...core.versions.map((v, i) => ({ group: '', version: v, preferred: i === 0 })),
    ];
    for (const g of groups.groups) {
      for (const v of g.versions) {
        targets.push({
          group: g.name,
          version: v.version,
          preferred: g.preferredVersion?.version === v.version,
        });
      }
    }
    const out: RawGroupVersion[] = await Promise.all(
      targets.map(async (t) => {
        const path = t.group === '' ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
        try {
          // An aggregated API's server may be down for good (503 below): not worth retrying.
          const list = await this.request<{ resources: RawApiResource[] }>({
            method: 'GET',
            path,
            ...(aggregated.has(apiVersionOf(t)) ? { retry: 'unsent' as const } : {}),
          });
          const gv = apiVersionOf(t);
          return { ...t, resources: list.resources, aggregated: aggregated.has(gv) };
        } catch (err) {
          // An unavailable aggregated API must not stop discovery of everything else (Velero
          // logs and continues too); the caller reports the group as not backed up.
          if (err instanceof KubeApiError && err.status === 503) {
            return { ...t, resources: [], aggregated: true, unavailable: err.message };
          }
          // A group announced by /apis a moment ago can be gone now (its CRD was just deleted).
          if (err instanceof KubeApiError && err.status === 404) {
            return {
              ...t,
              resources: [],
              aggregated: aggregated.has(apiVersionOf(t)),
              unavailable: err.message,
            };
          }
          throw err;
        }
      }),
    );
    return out;
  }

  private async aggregatedGroupVersions(): Promise<Set<string>> {
    const list = await this.request<{
      items: { spec: { group?: string; version?: string; service?: unknown } }[];
    }>({
      method: 'GET',
      path: '/apis/apiregistration.k8s.io/v1/apiservices',
    });
    const set = new Set<string>();
    for (const s of list.items) {
      if (s.spec.service) set.add(apiVersionOf({ group: s.spec.group ?? '', version: s.spec.version ?? '' }));
    }
    return set;
  }

  /** The current etcd revision, as the resourceVersion of a cheap consistent list. */
  async currentRevision(): Promise<string> {
    const page = await this.request<{ metadata: { resourceVersion: string } }>({
      method: 'GET',
      path: '/api/v1/namespaces',
      query: { limit: 1 },
    });
    return page.metadata.resourceVersion;
  }

  /** How many namespaces the cluster has, from one page of one (undefined if the server does not say). */
  async countNamespaces(): Promise<number | undefined> {
    const page = await this.request<{
      items: unknown[];
      metadata: { continue?: string; remainingItemCount?: number };
    }>({
      method: 'GET',
      path: '/api/v1/namespaces',
      query: { limit: 1 },
    });
    if (!page.metadata.continue) return page.items.length;
    return page.metadata.remainingItemCount === undefined
      ? undefined
      : page.items.length + page.metadata.remainingItemCount;
  }

  async list(info: ResourceInfo, opts: ListOptions = {}): Promise<ListPage> {
    const { value: page, body } = await this.requestWithBody<{
      items: KubeObject[];
      metadata: { resourceVersion: string; continue?: string };
    }>({
      method: 'GET',
      path: resourcePath(info, { namespace: opts.namespace }),
      query: {
        limit: opts.limit,
        continue: opts.continueToken,
        // resourceVersion and resourceVersionMatch are not allowed together with continue:
        // the continue token already pins the revision.
        resourceVersion: opts.continueToken ? undefined : opts.resourceVersion,
        resourceVersionMatch: opts.continueToken ? undefined : opts.resourceVersionMatch,
        labelSelector: opts.labelSelector,
      },
    });
    // List responses omit apiVersion/kind on items; itemJsonOf puts them back so that archives
    // hold whole objects.
    const itemJson = itemJsonOf(body, page.items, { apiVersion: apiVersionOf(info), kind: info.kind });
    return {
      items: page.items,
      itemJson,
      resourceVersion: page.metadata.resourceVersion,
      ...(page.metadata.continue ? { continueToken: page.metadata.continue } : {}),
    };
  }

  async get(info: ResourceInfo, namespace: string, name: string): Promise<KubeObject | null> {
    try {
      return await this.request<KubeObject>({ method: 'GET', path: resourcePath(info, { namespace, name }) });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return null;
      throw err;
    }
  }

  async create(info: ResourceInfo, obj: KubeObject, opts: { dryRun?: boolean } = {}): Promise<KubeObject> {
    return this.request<KubeObject>({
      method: 'POST',
      path: resourcePath(info, { namespace: obj.metadata.namespace }),
      query: { dryRun: opts.dryRun ? 'All' : undefined },
      body: obj,
    });
  }

  /**
   * create(), for a caller that only needs to know that it worked: the object the server
   * answers with is not parsed. A restore creates thousands of objects and reads none of them
   * back; parsing the answers was a tenth of its CPU. (Asking for the answer in protobuf saved
   * the API server nothing measurable: ADR 0042.)
   */
  async createOnly(info: ResourceInfo, obj: KubeObject): Promise<void> {
    await this.request<undefined>({
      method: 'POST',
      path: resourcePath(info, { namespace: obj.metadata.namespace }),
      body: obj,
      discardResponse: true,
    });
  }

  /** Server-side apply (PATCH application/apply-patch+yaml; JSON is valid YAML). */
  async apply(
    info: ResourceInfo,
    obj: KubeObject,
    opts: { fieldManager: string; force?: boolean; dryRun?: boolean },
  ): Promise<KubeObject> {
    return this.request<KubeObject>({
      method: 'PATCH',
      path: resourcePath(info, { namespace: obj.metadata.namespace, name: obj.metadata.name }),
      query: {
        fieldManager: opts.fieldManager,
        force: opts.force ? 'true' : undefined,
        dryRun: opts.dryRun ? 'All' : undefined,
      },
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
  }

  /**
   * JSON merge patch (RFC 7386). For removing a field that another manager owns, which
   * server-side apply cannot do: `null` deletes a member.
   */
  async mergePatch(
    info: ResourceInfo,
    ref: { namespace: string; name: string },
    patch: Record<string, unknown>,
    opts: { fieldManager: string; dryRun?: boolean; subresource?: 'status' },
  ): Promise<KubeObject> {
    return this.request<KubeObject>({
      method: 'PATCH',
      // A status subresource takes only status (and metadata preconditions) from the patch.
      path: resourcePath(info, ref) + (opts.subresource ? `/${opts.subresource}` : ''),
      query: { fieldManager: opts.fieldManager, dryRun: opts.dryRun ? 'All' : undefined },
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  }

  async delete(info: ResourceInfo, namespace: string, name: string): Promise<void> {
    try {
      await this.request({ method: 'DELETE', path: resourcePath(info, { namespace, name }) });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return;
      throw err;
    }
  }

  /**
   * Watches a resource: each event goes to onEvent, in order, until the API server ends the
   * watch (timeoutSeconds), the signal aborts (both resolve) or it fails (rejects; an ERROR
   * event becomes a KubeApiError, 410 when the resourceVersion is too old). Not retried here:
   * the caller decides from when to watch again.
   */
  async watch(info: ResourceInfo, opts: WatchOptions, onEvent: (e: WatchEvent) => void): Promise<void> {
    const timeoutSeconds = opts.timeoutSeconds ?? 300;
    const url = new URL(this.server + resourcePath(info, { namespace: opts.namespace }));
    url.searchParams.set('watch', '1');
    url.searchParams.set('timeoutSeconds', String(timeoutSeconds));
    if (opts.labelSelector) url.searchParams.set('labelSelector', opts.labelSelector);
    if (opts.resourceVersion) url.searchParams.set('resourceVersion', opts.resourceVersion);
    const what = `WATCH ${url.pathname}`;
    const started = this.lastRefresh;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers = {
      ...(this.baseOptions.headers as Record<string, string> | undefined),
      accept: 'application/json',
    };
    let unauthorized = false;
    try {
      await new Promise<void>((resolve, reject) => {
        if (opts.signal?.aborted) return resolve();
        let settled = false;
        const done = (err?: Error): void => {
          if (settled) return;
          settled = true;
          clearTimeout(responseTimer);
          opts.signal?.removeEventListener('abort', abort);
          if (err) reject(err);
          else resolve();
        };
        const fail = (err: Error): void => done(new KubeUnreachableError(this.server, err, what));
        const req = send(url, { ...this.baseOptions, method: 'GET', headers, agent: this.agent }, (res) => {
          clearTimeout(responseTimer);
          res.setEncoding('utf8');
          if (res.statusCode !== 200) {
            let text = '';
            res.on('data', (c: string) => (text = (text + c).slice(0, 65_536)));
            res.on('end', () => {
              unauthorized = res.statusCode === 401;
              done(toApiError(res.statusCode ?? 0, text, what));
            });
            res.on('error', fail);
            return;
          }
          const lines = new LineSplitter((line) => {
            const parsed = parseWatchLine(line);
            if (!parsed) return;
            if ('error' in parsed) {
              const { code, reason, message } = parsed.error;
              throw new KubeApiError(code, reason, `${what}: ${message}`);
            }
            onEvent(parsed.event);
          });
          res.on('data', (c: string) => {
            try {
              lines.push(c);
            } catch (err) {
              req.destroy();
              done(err as Error);
            }
          });
          res.on('end', () => {
            try {
              lines.end();
              done();
            } catch (err) {
              done(err as Error);
            }
          });
          res.on('error', (err) => (opts.signal?.aborted ? done() : fail(err)));
          res.on('aborted', () => (opts.signal?.aborted ? done() : fail(new Error('response aborted'))));
        });
        const abort = (): void => {
          req.destroy();
          done();
        };
        opts.signal?.addEventListener('abort', abort);
        const responseTimer = setTimeout(() => {
          req.destroy(new TimeoutError(`no response in ${this.network.responseTimeoutMs} ms`));
        }, this.network.responseTimeoutMs);
        // The server sends nothing while nothing changes: only a connection silent for longer
        // than the watch itself lasts is taken as dropped.
        req.setTimeout((timeoutSeconds + 30) * 1000, () => {
          req.destroy(new TimeoutError(`no data for ${timeoutSeconds + 30} s`));
        });
        req.on('error', (err) => (opts.signal?.aborted ? done() : fail(err)));
        req.end();
      });
    } finally {
      // Rotated credentials are read again, for the caller's next watch.
      if (unauthorized) await this.refreshCredentials(started);
    }
  }

  /** Run a command in a pod's container through the exec subresource (pod-exec.ts). */
  async exec(req: PodExecRequest): Promise<PodExecResult> {
    // Loaded on the first exec: only hooks exec, and the WebSocket library costs every other
    // command (a quiet reconcile pass among them) about 0.1 s of CPU to load.
    const { execInPod } = await import('./pod-exec.js');
    return execInPod({ server: this.server, requestOptions: this.baseOptions }, req);
  }

  async version(): Promise<{ gitVersion: string }> {
    return this.request({ method: 'GET', path: '/version' });
  }
}

export function resourcePath(
  info: ResourceInfo,
  at: { namespace?: string | undefined; name?: string | undefined },
): string {
  const base = info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  const ns = info.namespaced && at.namespace ? `/namespaces/${encodeURIComponent(at.namespace)}` : '';
  const name = at.name ? `/${encodeURIComponent(at.name)}` : '';
  return `${base}${ns}/${info.resource}${name}`;
}

function retryable(err: unknown, retry: 'transient' | 'unsent' | 'none'): boolean {
  if (retry === 'none') return false;
  if (retry === 'transient') return isTransientKubeError(err);
  return (
    (err instanceof KubeUnreachableError && err.code === 'ECONNREFUSED') ||
    (err instanceof KubeApiError && err.status === 429)
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function pickTls(o: RequestOptions): Record<string, unknown> {
  const keys = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * One TLS context for all of a client's connections. Without it, tls.connect builds a new one
 * from the PEM texts for every connection it opens (parsing the CA bundle, the client
 * certificate and key each time): a few ms of CPU per connection, 64 connections at once in a
 * restore. rejectUnauthorized and servername stay per connection options.
 */
function sharedTls(tlsOptions: Record<string, unknown>): ConnectionOptions {
  const { rejectUnauthorized, servername, ...material } = tlsOptions;
  return {
    secureContext: createSecureContext(material),
    ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized: rejectUnauthorized as boolean }),
    ...(servername === undefined ? {} : { servername: servername as string }),
  };
}

function toApiError(status: number, text: string, what: string): KubeApiError {
  try {
    const s = JSON.parse(text) as { kind?: string; reason?: string; message?: string; details?: unknown };
    if (s.kind === 'Status') {
      return new KubeApiError(
        status,
        s.reason ?? String(status),
        s.message ?? `${what}: HTTP ${status}`,
        s.details,
      );
    }
  } catch {
    // not JSON: fall through
  }
  return new KubeApiError(status, String(status), `${what}: HTTP ${status}: ${text.slice(0, 300)}`);
}
