// Progress for long backups and restores: a live bar on a terminal (objects done, rate),
// plain log lines otherwise (CI logs, pipes), one every few seconds — none for work that ends
// sooner, whose summary says it all (a first line at once said "0 objects" for a fast backup).
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

/** Milliseconds between log lines when the output is not a terminal. */
const LOG_INTERVAL_MS = 5000;

export function createProgress(
  label: string,
  stream: Pick<NodeJS.WriteStream, 'isTTY' | 'write'> = process.stderr,
  now: () => number = Date.now,
): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} {bar} {value}/{total} objects · {rate}/s · {duration_formatted}`,
        stream: stream as NodeJS.WriteStream,
        hideCursor: true,
        noTTYOutput: false,
      },
      cliProgress.Presets.shades_classic,
    );
    const started = Date.now();
    bar.start(0, 0, { rate: 0 });
    return {
      update(done, total) {
        if (total !== undefined) bar.setTotal(Math.max(total, done));
        else bar.setTotal(Math.max(done, 1));
        const secs = (Date.now() - started) / 1000;
        bar.update(done, { rate: secs > 0 ? Math.round(done / secs) : 0 });
      },
      stop: () => bar.stop(),
    };
  }
  const started = now();
  let last = started;
  return {
    update(done, total) {
      const at = now();
      if (at - last < LOG_INTERVAL_MS) return;
      last = at;
      const rate = Math.round(done / Math.max((at - started) / 1000, 0.001));
      stream.write(`${label}: ${done}${total ? `/${total}` : ''} objects (${rate}/s)\n`);
    },
    stop() {
      // nothing to clear on a non-terminal
    },
  };
}
