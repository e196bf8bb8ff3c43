// The body of a watch request (`?watch=1`): one JSON event per line, {"type": ADDED | MODIFIED |
// DELETED | BOOKMARK | ERROR, "object": …}, as long as the connection lasts. Chunks from the
// socket end anywhere, so lines are put together here; a line longer than the limit (the API
// server caps an object at ~1.5 MB in etcd) is refused rather than buffered without bound.
import type { KubeObject } from './types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
}

/** An ERROR event: the API server's Status (410 Gone when the resourceVersion is too old). */
export interface WatchStatus {
  code: number;
  reason: string;
  message: string;
}

export type WatchLine = { event: WatchEvent } | { error: WatchStatus };

const TYPES = new Set<string>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK']);

/** One line of a watch body; undefined for a blank line. Throws on anything not an event. */
export function parseWatchLine(line: string): WatchLine | undefined {
  const text = line.trim();
  if (text === '') return undefined;
  let m: { type?: unknown; object?: unknown };
  try {
    m = JSON.parse(text) as typeof m;
  } catch {
    throw new Error(`the watch stream sent a line that is not JSON: ${text.slice(0, 120)}`);
  }
  const object = m.object as Record<string, unknown> | undefined;
  if (m.type === 'ERROR') {
    return {
      error: {
        code: typeof object?.code === 'number' ? object.code : 500,
        reason: typeof object?.reason === 'string' ? object.reason : 'Unknown',
        message: typeof object?.message === 'string' ? object.message : 'the watch ended with an error',
      },
    };
  }
  if (typeof m.type !== 'string' || !TYPES.has(m.type) || typeof object !== 'object' || object === null)
    throw new Error(`the watch stream sent an unknown event: ${text.slice(0, 120)}`);
  return { event: { type: m.type as WatchEventType, object: object as unknown as KubeObject } };
}

/** Splits chunks into lines; each complete one goes to onLine. */
export class LineSplitter {
  /** The pieces of the line not yet ended (kept apart: a long line costs no re-scans). */
  private pending: string[] = [];
  private pendingLength = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineBytes = 16 * 1024 * 1024,
  ) {}

  push(chunk: string): void {
    let from = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', from)) {
      this.pending.push(chunk.slice(from, nl));
      const line = this.pending.join('');
      this.pending = [];
      this.pendingLength = 0;
      from = nl + 1;
      this.onLine(line);
    }
    if (from < chunk.length) {
      this.pending.push(chunk.slice(from));
      this.pendingLength += chunk.length - from;
      if (this.pendingLength > this.maxLineBytes)
        throw new Error(`a watch event is longer than ${this.maxLineBytes} bytes`);
    }
  }

  /** The last line, if the stream did not end with a newline. */
  end(): void {
    const last = this.pending.join('');
    this.pending = [];
    this.pendingLength = 0;
    if (last.trim() !== '') this.onLine(last);
  }
}
