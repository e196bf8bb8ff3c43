// Uploading libraries destroy the stream they read when they fail or stop early, which hands
// the producer a bare "aborted" or "premature close". Reading through a feed keeps the
// producer's stream ours, so the store can destroy it with the real reason instead.
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';

/** A stream carrying `body`'s bytes and errors; destroying it leaves `body` untouched. */
export function feedFrom(body: Readable): Readable {
  const feed = new PassThrough();
  // A producer that failed before the store got round to reading (a local put opens its file
  // first) emits no further events: piping it would wait forever. Fail the feed at once instead.
  if (body.destroyed) {
    feed.destroy(body.errored ?? new Error('the stream was destroyed before it was read'));
    return feed;
  }
  body.once('error', (err) => feed.destroy(err));
  body.pipe(feed);
  return feed;
}

/** After a failed put: tell the producer why its bytes are no longer wanted. */
export function failProducer(body: Readable | Buffer | string, failure: Error): void {
  if (typeof body !== 'string' && !Buffer.isBuffer(body) && !body.destroyed) body.destroy(failure);
}
