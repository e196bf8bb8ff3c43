// A download whose connection breaks part-way (reset, closed before the end) goes on from the
// byte it reached, with a ranged request for the rest of the same object version, instead of
// failing the restore that reads it. The SDK retries a request only until the response's
// headers arrive; a body cut later was the reader's error, and a restore of a 6 MB archive
// through a network that resets 5 % of connections failed every time (test/backup-s3-faults).
// The SDK's whole-object checksum cannot be checked over the joined ranges; the archive's own
// sha256, recorded at backup time, is still checked by the restore (src/restore/archive-items.ts),
// and the ETag condition keeps a rewritten object from being joined to the old one.
import { Readable } from 'node:stream';

/** Errors of a body cut short by the network; anything else (a checksum, a stall) is final. */
const CUT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE']);

export function isCutShort(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  return (e?.code !== undefined && CUT_CODES.has(e.code)) || e?.message === 'aborted';
}

export interface ResumeOptions {
  /** The first response's body. */
  first: Readable;
  /** The object's bytes from `offset` on (the same version: the caller pins it by ETag). */
  reopen: (offset: number) => Promise<Readable>;
  /**
   * How many cuts in a row, without a byte gained since the one before, the download survives.
   * A download that keeps gaining goes on: on a flaky network a large archive may be cut many
   * times, and each resume costs one request, not the bytes already read.
   */
  maxResumes: number;
  /** A bound on all resumes of one download, however much each gained (default 100). */
  maxTotalResumes?: number;
  /** Told of each resume (counted with the client's retries). */
  onResume?: (offset: number, cause: unknown) => void;
}

/** The bytes of `first`, continued with `reopen(offset)` after each cut, in order, with backpressure. */
export function resumingDownload(opts: ResumeOptions): Readable {
  let body = opts.first;
  async function* bytes(): AsyncGenerator<Buffer> {
    const maxTotal = opts.maxTotalResumes ?? 100;
    let offset = 0;
    let resumes = 0;
    let inARow = 0;
    let offsetAtLastCut = -1;
    for (;;) {
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          offset += chunk.length;
          yield chunk;
        }
        return;
      } catch (err) {
        inARow = offset > offsetAtLastCut ? 1 : inARow + 1;
        offsetAtLastCut = offset;
        if (inARow > opts.maxResumes || resumes >= maxTotal || !isCutShort(err)) throw err;
        resumes += 1;
        opts.onResume?.(offset, err);
        body = await opts.reopen(offset);
      }
    }
  }
  const out = Readable.from(bytes(), { objectMode: false });
  // Destroyed from outside (a stall, a reader that gives up) while the generator awaits the
  // current body: that body, and its connection, go too; the generator would only notice at
  // its next chunk, which a stalled body never sends.
  out.once('close', () => body.destroy());
  return out;
}
