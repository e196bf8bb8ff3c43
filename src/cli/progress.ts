// Progress for long backups and restores: a live bar on a terminal (objects done, rate),
// plain log lines otherwise (CI logs, pipes), at most one every few seconds.
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} {bar} {value}/{total} objects · {rate}/s · {duration_formatted}`,
        stream,
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
  let last = 0;
  const started = Date.now();
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 5000) return;
      last = now;
      const rate = Math.round(done / Math.max((now - started) / 1000, 0.001));
      stream.write(`${label}: ${done}${total ? `/${total}` : ''} objects (${rate}/s)\n`);
    },
    stop() {
      // nothing to clear on a non-terminal
    },
  };
}
