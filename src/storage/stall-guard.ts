// A download that stops arriving while its reader waits for it. A socket idle timeout cannot
// tell that apart from a reader that is busy: a reader applying backpressure (parsing a large
// entry, writing the spool) pauses the stream, the socket goes quiet, and the download would be
// cut although nothing is wrong. So the silence is counted only while the stream is flowing —
// while someone is waiting for the next byte.
import type { Readable } from 'node:stream';

/** Destroy `stream` with `error()` once it has flowed without a byte for `idleMs`. */
export function guardStalls<T extends Readable>(stream: T, idleMs: number, error: () => Error): T {
  if (!Number.isFinite(idleMs) || idleMs <= 0) return stream;
  let last = Date.now();
  let waitingSince: number | undefined;
  const onData = (): void => {
    last = Date.now();
  };
  const timer = setInterval(
    () => {
      const flowing = stream.readableFlowing === true;
      // Silence counts from the later of the last byte and the moment the reader resumed.
      if (!flowing) {
        waitingSince = undefined;
        return;
      }
      waitingSince ??= Date.now();
      if (Date.now() - Math.max(last, waitingSince) >= idleMs) {
        clearInterval(timer);
        stream.destroy(error());
      }
    },
    Math.max(50, Math.floor(idleMs / 4)),
  );
  timer.unref();
  stream.on('data', onData);
  const stop = (): void => clearInterval(timer);
  stream.once('close', stop);
  stream.once('end', stop);
  stream.once('error', stop);
  return stream;
}
