// `lifeboat backup list | head`: once the reader has what it wants it closes the pipe, and the
// next write fails with EPIPE. Unix tools end quietly then (SIGPIPE); Node would instead throw
// the error event as an uncaught exception with a stack trace. Exit 0 without a word instead:
// nothing the reader wanted was lost.
import { EXIT } from './exit-codes.js';

export function exitQuietlyOnBrokenPipe(
  stream: NodeJS.WritableStream,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') exit(EXIT.ok);
    // Any other failure of stdout stays what it was: an uncaught error.
    else throw err;
  });
}
