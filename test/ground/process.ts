// Child processes of the test ground: started with their output in a log file, waited for with
// a probe, stopped with SIGTERM (SIGKILL after 10 s). Shared by ground.ts and node.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface ProcSpec {
  name: string;
  bin: string;
  args: string[];
  logDir: string;
  env?: Record<string, string>;
}

export interface Proc {
  name: string;
  child: ChildProcess;
  logPath: string;
  exited: Promise<number | null>;
  /** How it was started, so a test of failures can restart it the same way. */
  spec: ProcSpec;
}

export function startProcess(opts: ProcSpec): Proc {
  const logPath = join(opts.logDir, `${opts.name}.log`);
  // Appended: a restarted server keeps its earlier log above the new one.
  const out = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(opts.bin, opts.args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    // A binary that cannot be started (missing, not executable) fails like one that exits.
    child.on('error', (err) => {
      out.write(`${opts.bin}: ${err.message}\n`);
      resolve(null);
    });
  });
  return { name: opts.name, child, logPath, exited, spec: opts };
}

export async function tail(path: string, lines = 25): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Poll `probe` until it returns true; fail with the process log if the process dies or time runs out. */
export async function waitFor(proc: Proc, probe: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void proc.exited.then(() => (dead = true));
  while (Date.now() < deadline) {
    if (dead) throw new Error(`${proc.name} exited during start-up:\n${await tail(proc.logPath)}`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${proc.name} did not become ready in ${timeoutMs / 1000}s:\n${await tail(proc.logPath)}`);
}

export async function stopProcess(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await p.exited;
  clearTimeout(timer);
}
