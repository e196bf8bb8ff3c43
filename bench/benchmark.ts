// What every benchmark offers bench/index.ts.

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
