// What every benchmark offers bench/index.ts.
import { readFileSync } from 'node:fs';

export interface Benchmark {
  /** One line for the usage text. */
  description: string;
  /** Run with the arguments after the benchmark's name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

/** Peak resident set size while sampling; RSS is what the operating system charges us. */
export class RssSampler {
  private peakBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  start(intervalMs = 10): void {
    this.peakBytes = process.memoryUsage.rss();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  /** The peak so far, in bytes. */
  peak(): number {
    this.sample();
    return this.peakBytes;
  }

  /** Stop sampling; the peak in bytes. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peakBytes;
  }

  private sample(): void {
    this.peakBytes = Math.max(this.peakBytes, process.memoryUsage.rss());
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * CPU time the whole machine spent busy since boot, in milliseconds (Linux /proc/stat; 0
 * elsewhere). Differences show what a run cost the API server and etcd too, which share the
 * cores with the measured process.
 */
export function machineBusyMs(): number {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return 0;
  }
  const fields = (stat.split('\n', 1)[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  // USER_HZ is 100 on every Linux the project runs on: one jiffy is 10 ms.
  return (user + nice + system + irq + softirq + steal) * 10;
}
