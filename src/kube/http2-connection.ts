// One HTTP/2 connection to the API server, shared by all of a client's requests (ADR 0052).
// Over HTTP/1.1 a restore opens 64 TLS connections, one per request in flight, and each
// handshake costs a few ms of CPU on lifeboat's one thread and on the API server; over HTTP/2
// the same 64 requests are streams of one connection, opened once.
//
// The connection is opened on first use and again after the server sends GOAWAY, after it
// fails, or after it has been idle (IDLE_MS). A server that does not offer HTTP/2 in the TLS
// handshake (ALPN), such as a proxy in front of the API server, makes the client use HTTP/1.1
// from then on (`request()` answers 'http/1.1').
import {
  connect as http2Connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { TimeoutError } from './timeout-error.js';

/**
 * Flow-control windows: how much the API server may send before lifeboat acknowledges it.
 * HTTP/2's default of 64 KiB per stream and per connection would hold a LIST page of several
 * MB to a round trip every 64 KiB; the answers are read as they come, so a large window costs
 * no memory that the answer would not take anyway.
 */
const STREAM_WINDOW = 4 * 1024 * 1024;
const CONNECTION_WINDOW = 64 * 1024 * 1024;
/**
 * Node refuses new streams when a session buffers more than this (MB; default 10): 64 answers
 * of a few MB in flight at once must not be refused.
 */
const MAX_SESSION_MEMORY_MB = 512;

export interface Http2Answer {
  status: number;
  body: Buffer;
}

export interface Http2Request {
  method: string;
  /** Path and query. */
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  responseTimeoutMs: number;
  idleTimeoutMs: number;
}

/**
 * A failure of a request that never reached the API server: sent on a connection the server
 * had already closed or was closing (GOAWAY, a refused stream, or a reset with no answer on a
 * connection that had been quiet since). Safe to send again, even a write.
 */
export class UnsentRequestError extends Error {
  readonly code: string;
  constructor(cause: Error) {
    const code = (cause as { code?: string }).code ?? 'ECONNRESET';
    super(cause.message, { cause });
    this.name = 'UnsentRequestError';
    this.code = code;
  }
}

interface Live {
  session: ClientHttp2Session;
  /** Answers received on this session; a request that saw none arrive cannot tell it was read. */
  answers: number;
  streams: number;
}

export class Http2Connection {
  private live: Live | undefined;
  private connecting: Promise<Live | 'http/1.1'> | undefined;
  private http1 = false;
  private closed = false;

  constructor(
    private readonly o: {
      /** https://host:port */
      authority: string;
      tls: ConnectionOptions;
      /** Close the connection after this long without a stream. */
      idleMs: number;
      /** Give up connecting after this long without progress. */
      connectTimeoutMs: number;
    },
  ) {}

  /** The answer, or 'http/1.1' when the server does not offer HTTP/2 (nothing was sent). */
  async request(r: Http2Request): Promise<Http2Answer | 'http/1.1'> {
    const live = await this.session();
    if (live === 'http/1.1') return live;
    return this.send(live, r);
  }

  /** Closes the connection once its streams end; none are opened on it again. */
  close(): void {
    this.closed = true;
    this.live?.session.close();
    this.live = undefined;
  }

  /** Ends the connection and every stream on it at once. */
  destroy(): void {
    this.closed = true;
    this.live?.session.destroy();
    this.live = undefined;
  }

  private async session(): Promise<Live | 'http/1.1'> {
    if (this.http1) return 'http/1.1';
    if (this.live && !this.live.session.closed && !this.live.session.destroyed) return this.live;
    if (this.closed) throw Object.assign(new Error('client closed'), { code: 'ERR_CLIENT_CLOSED' });
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<Live | 'http/1.1'> {
    const url = new URL(this.o.authority);
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({
        ...this.o.tls,
        host: url.hostname,
        port: Number(url.port || 443),
        ALPNProtocols: ['h2', 'http/1.1'],
      });
      // Small frames (headers, window updates) must not wait for Nagle's algorithm: http2's
      // own connect sets this, a connection handed to it must set it itself.
      s.setNoDelay(true);
      s.setTimeout(this.o.connectTimeoutMs, () =>
        s.destroy(new TimeoutError(`no data for ${this.o.connectTimeoutMs} ms`)),
      );
      s.once('secureConnect', () => {
        s.setTimeout(0);
        resolve(s);
      });
      s.once('error', reject);
    });
    if (socket.alpnProtocol !== 'h2') {
      socket.destroy();
      this.http1 = true;
      return 'http/1.1';
    }
    const session = http2Connect(this.o.authority, {
      createConnection: () => socket,
      settings: { initialWindowSize: STREAM_WINDOW, enablePush: false },
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
    });
    const live: Live = { session, answers: 0, streams: 0 };
    session.setLocalWindowSize(CONNECTION_WINDOW);
    // An idle connection must not keep the process alive; one with streams in flight must.
    session.unref();
    const forget = (): void => {
      if (this.live === live) this.live = undefined;
    };
    // After GOAWAY no new stream may start here; Node closes the session once its streams end.
    session.on('goaway', forget);
    session.on('close', forget);
    session.on('error', forget);
    session.setTimeout(this.o.idleMs, () => {
      if (live.streams === 0) {
        forget();
        session.close();
      }
    });
    this.live = live;
    return live;
  }

  private send(live: Live, r: Http2Request): Promise<Http2Answer> {
    const answersBefore = live.answers;
    // A connection that has answered before, and nothing since this stream was sent: the way
    // one the server (or a load balancer) closed while idle fails.
    const quietSince = (): boolean => answersBefore > 0 && live.answers === answersBefore;
    const headers: OutgoingHttpHeaders = {
      [constants.HTTP2_HEADER_METHOD]: r.method,
      [constants.HTTP2_HEADER_PATH]: r.path,
    };
    for (const [k, v] of Object.entries(r.headers)) {
      const name = k.toLowerCase();
      // Connection-specific headers are not allowed in HTTP/2.
      if (!CONNECTION_HEADERS.has(name)) headers[name] = v;
    }
    return new Promise<Http2Answer>((resolve, reject) => {
      let stream: ClientHttp2Stream;
      try {
        stream = live.session.request(headers, { endStream: r.body === undefined });
      } catch (err) {
        // The session was closing (GOAWAY) or gone: the request was not sent.
        if (this.live === live) this.live = undefined;
        reject(new UnsentRequestError(err as Error));
        return;
      }
      if (live.streams++ === 0) live.session.ref();
      let answered = false;
      let settled = false;
      const settle = (): void => {
        settled = true;
        clearTimeout(responseTimer);
        if (--live.streams === 0) live.session.unref();
      };
      const fail = (err: Error): void => {
        if (settled) return;
        settle();
        reject(unsent(err, stream.rstCode, answered, quietSince()) ? new UnsentRequestError(err) : err);
      };
      const responseTimer = setTimeout(() => {
        fail(new TimeoutError(`no response in ${r.responseTimeoutMs} ms`));
        stream.close(constants.NGHTTP2_CANCEL);
      }, r.responseTimeoutMs);
      stream.setTimeout(r.idleTimeoutMs, () => {
        fail(new TimeoutError(`no data for ${r.idleTimeoutMs} ms`));
        stream.close(constants.NGHTTP2_CANCEL);
      });
      let status = 0;
      const chunks: Buffer[] = [];
      stream.on('response', (h) => {
        answered = true;
        live.answers++;
        clearTimeout(responseTimer);
        status = Number(h[constants.HTTP2_HEADER_STATUS]);
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        // Node ends a stream closed with NO_ERROR before its answer came (RST_STREAM from the
        // server, or a connection torn down under it) as if it were complete: not an answer (of
        // status 0) but a failure, which the 'close' that follows reports.
        if (settled || !answered) return;
        settle();
        resolve({ status, body: Buffer.concat(chunks) });
      });
      stream.on('error', fail);
      // Closed with neither an answer's end nor an error: reset by the server (RST_STREAM) or by
      // the session going away.
      stream.on('close', () => {
        if (!settled) fail(streamClosedError(stream.rstCode, answered));
      });
      if (r.body !== undefined) stream.end(r.body);
    });
  }
}

const CONNECTION_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
]);

function streamClosedError(rstCode: number, answered: boolean): Error {
  const code = rstCode === constants.NGHTTP2_REFUSED_STREAM ? 'REFUSED_STREAM' : 'ECONNRESET';
  const when = answered ? 'before its answer ended' : 'with no answer';
  return Object.assign(new Error(`stream closed ${when} (HTTP/2 error code ${rstCode})`), { code });
}

/**
 * Whether a failed stream surely never reached the API server: refused by it (REFUSED_STREAM,
 * or started above a GOAWAY's last stream), or reset with no answer to it, on a connection that
 * answered before and has answered nothing since it was sent.
 */
export function unsent(
  err: Error,
  rstCode: number | undefined,
  answered: boolean,
  quietSince: boolean,
): boolean {
  if (answered) return false;
  // nghttp2 closes the streams above a GOAWAY's last stream id with REFUSED_STREAM.
  if (rstCode === constants.NGHTTP2_REFUSED_STREAM) return true;
  const e = err as { code?: string };
  if (e.code === 'ERR_HTTP2_GOAWAY_SESSION' || e.code === 'ERR_HTTP2_INVALID_SESSION') return true;
  if (!quietSince) return false;
  return e.code === 'ECONNRESET' || e.code === 'EPIPE' || e.code === 'ERR_HTTP2_STREAM_CANCEL';
}
