// The log stored beside a backup or restore (`<name>-logs.gz`, as Velero does): plain text
// lines, bounded so a run with millions of warnings cannot exhaust memory.
import { gzipSync } from 'node:zlib';

const MAX_LINES = 20_000;

export class RunLog {
  private readonly lines: string[] = [];
  private dropped = 0;

  constructor(private readonly clock: () => Date = () => new Date()) {}

  add(level: 'info' | 'warning' | 'error', message: string, fields: Record<string, unknown> = {}): void {
    if (this.lines.length >= MAX_LINES) {
      this.dropped++;
      return;
    }
    const extra = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => ` ${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}`)
      .join('');
    this.lines.push(
      `time="${this.clock().toISOString()}" level=${level} msg=${JSON.stringify(message)}${extra}`,
    );
  }

  text(): string {
    const tail = this.dropped > 0 ? [`level=warning msg="${this.dropped} further log lines dropped"`] : [];
    return [...this.lines, ...tail].join('\n') + '\n';
  }

  gzip(): Buffer {
    return gzipSync(this.text());
  }
}
