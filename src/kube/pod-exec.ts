// Running a command in a pod's container through the exec subresource, over a websocket with
// Kubernetes' channel protocol (v5.channel.k8s.io, or v4): each binary frame starts with its
// channel — 1 stdout, 2 stderr, 3 the final Status (exit code) — as kubectl and
// @kubernetes/client-node's Exec speak it. Spoken here with `ws` and the client's own TLS and
// auth options rather than through client-node, which this process never loads (kubeconfig.ts).
//
// A command that outlives its timeout is abandoned: the connection is closed and the result
// says timedOut. The exec API has no way to signal the process; like Velero's podexec, which
// stops waiting the same way, the command may go on in the container until it ends itself.
import type { RequestOptions } from 'node:https';
import WebSocket from 'ws';
import { KubeApiError, KubeUnreachableError } from './client.js';

export interface PodExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  timeoutMs: number;
  /** Bytes kept of stdout and of stderr each; the rest is counted, not held. */
  maxOutputBytes?: number;
}

export interface PodExecResult {
  /** The command's exit code; undefined when it timed out or the Status carried none. */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** Bytes the command wrote beyond maxOutputBytes, per stream (0: nothing was cut). */
  stdoutDropped: number;
  stderrDropped: number;
  durationMs: number;
  timedOut: boolean;
  /** Why the command could not run or finish (not started, stream failure), if it could not. */
  failure?: string;
}

/** What of the client a connection needs: where the API is and how to authenticate to it. */
export interface ExecConnection {
  server: string;
  requestOptions: RequestOptions;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024;
const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const CHANNEL = { stdout: 1, stderr: 2, status: 3 } as const;

/** Keeps the first `max` bytes of a stream and counts the rest. */
class BoundedText {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  dropped = 0;
  constructor(private readonly max: number) {}
  add(chunk: Buffer): void {
    const room = this.max - this.kept;
    if (room > 0) {
      const part = chunk.subarray(0, room);
      this.chunks.push(part);
      this.kept += part.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(room, 0));
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export function execPath(req: Pick<PodExecRequest, 'namespace' | 'pod' | 'container' | 'command'>): string {
  const query = new URLSearchParams({ container: req.container, stdout: 'true', stderr: 'true' });
  for (const part of req.command) query.append('command', part);
  return (
    `/api/v1/namespaces/${encodeURIComponent(req.namespace)}/pods/${encodeURIComponent(req.pod)}/exec?` +
    query.toString()
  );
}

/**
 * The exit code from the Status on channel 3: Success is 0, NonZeroExitCode carries it as the
 * ExitCode cause. Another failure (the container is gone) is returned as its message.
 */
export function exitCodeOfStatus(text: string): { exitCode: number } | { failure: string } {
  let status: { status?: string; reason?: string; message?: string; details?: { causes?: unknown[] } };
  try {
    status = JSON.parse(text) as typeof status;
  } catch {
    return { failure: `unreadable exec status: ${text.slice(0, 200)}` };
  }
  if (status.status === 'Success') return { exitCode: 0 };
  const cause = (status.details?.causes ?? []).find(
    (c): c is { reason: string; message: string } => (c as { reason?: unknown }).reason === 'ExitCode',
  );
  const code = cause ? Number(cause.message) : Number.NaN;
  if (status.reason === 'NonZeroExitCode' && Number.isInteger(code)) return { exitCode: code };
  return { failure: status.message ?? `exec failed: ${text.slice(0, 200)}` };
}

/** Run one command; resolves with what it did, rejects only when the exec could not start. */
export async function execInPod(conn: ExecConnection, req: PodExecRequest): Promise<PodExecResult> {
  const max = req.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const stdout = new BoundedText(max);
  const stderr = new BoundedText(max);
  const url = conn.server.replace(/^http/, 'ws') + execPath(req);
  const started = Date.now();
  const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername, headers, auth } =
    conn.requestOptions;
  const socket = new WebSocket(url, PROTOCOLS, {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(pfx ? { pfx } : {}),
    ...(passphrase ? { passphrase } : {}),
    ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }),
    ...(servername ? { servername } : {}),
    ...(auth ? { auth } : {}),
    headers: { ...(headers as Record<string, string> | undefined) },
    handshakeTimeout: Math.min(req.timeoutMs, 30_000),
  });

  return new Promise<PodExecResult>((resolve, reject) => {
    let outcome: { exitCode: number } | { failure: string } | undefined;
    let opened = false;
    let settled = false;
    const finish = (timedOut: boolean, failure?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const exit = outcome && 'exitCode' in outcome ? outcome.exitCode : undefined;
      const why = failure ?? (outcome && 'failure' in outcome ? outcome.failure : undefined);
      resolve({
        exitCode: timedOut ? undefined : exit,
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdoutDropped: stdout.dropped,
        stderrDropped: stderr.dropped,
        durationMs: Date.now() - started,
        timedOut,
        ...(why && !timedOut ? { failure: why } : {}),
      });
    };
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    };
    const timer = setTimeout(() => {
      // Abandon: the container's process is not ours to kill through this API.
      socket.terminate();
      if (opened) finish(true);
      else
        fail(
          new KubeUnreachableError(conn.server, new Error(`no exec session in ${req.timeoutMs} ms`), 'exec'),
        );
    }, req.timeoutMs);

    socket.on('open', () => {
      opened = true;
    });
    socket.on('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        fail(apiErrorOf(response.statusCode ?? 0, text, `exec in ${req.namespace}/${req.pod}`));
      });
    });
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      const frame = isBinary ? data : Buffer.from(data);
      if (frame.length === 0) return;
      const body = frame.subarray(1);
      switch (frame[0]) {
        case CHANNEL.stdout:
          stdout.add(body);
          break;
        case CHANNEL.stderr:
          stderr.add(body);
          break;
        case CHANNEL.status:
          outcome = exitCodeOfStatus(body.toString('utf8'));
          break;
        default:
          // Channel 255 (v5's close of a stream) and resize: nothing to keep.
          break;
      }
    });
    socket.on('close', () => {
      if (!opened) return;
      finish(false, outcome ? undefined : 'the exec stream ended without a status');
    });
    socket.on('error', (err) => {
      if (opened) finish(false, `exec stream failed: ${err.message}`);
      else fail(new KubeUnreachableError(conn.server, err, 'exec'));
    });
  });
}

function apiErrorOf(status: number, text: string, what: string): KubeApiError {
  try {
    const s = JSON.parse(text) as { kind?: string; reason?: string; message?: string };
    if (s.kind === 'Status') return new KubeApiError(status, s.reason ?? String(status), s.message ?? what);
  } catch {
    // not JSON
  }
  return new KubeApiError(status, String(status), `${what}: HTTP ${status}: ${text.slice(0, 300)}`);
}
