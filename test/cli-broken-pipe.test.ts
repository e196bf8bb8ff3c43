// `lifeboat backup list | head`: when the reader goes away early, the CLI exits quietly and
// successfully, as Unix tools do, instead of dying with an EPIPE stack trace.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildVeleroBackup } from '../src/backup/velero-backup.js';
import { backupLayout } from '../src/storage/layout.js';
import { tempDir } from './ground/world.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * A location holding `count` completed backups (metadata only: listing reads nothing else),
 * written as files of the directory store's layout directly, which is much faster than a put each.
 */
async function manyBackups(count: number): Promise<string> {
  const dir = await tempDir('broken-pipe-');
  const start = new Date('2026-01-01T00:00:00Z');
  const names = Array.from({ length: count }, (_, i) => `nightly-${String(i).padStart(5, '0')}`);
  for (let i = 0; i < names.length; i += 100) {
    await Promise.all(
      names.slice(i, i + 100).map(async (name) => {
        const file = join(dir, backupLayout.metadata(name));
        await mkdir(dirname(file), { recursive: true });
        const backup = buildVeleroBackup({
          name,
          spec: { includedNamespaces: ['shop'] },
          phase: 'Completed',
          start,
          completion: start,
        });
        await writeFile(file, JSON.stringify(backup));
      }),
    );
  }
  return dir;
}

/** Runs the CLI with stdout on a pipe whose reader closes after the first chunk. */
function runIntoClosingReader(
  args: string[],
): Promise<{ code: number | null; signal: string | null; stderr: string; firstChunk: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin/lifeboat.js'), ...args], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let firstChunk = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.once('data', (d: Buffer) => {
      firstChunk = d.toString('utf8');
      // What `head -c` does once it has enough: close its end of the pipe.
      child.stdout.destroy();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr, firstChunk }));
  });
}

describe('the CLI with a reader that closes early', () => {
  it('exits quietly with status 0 when stdout is a broken pipe', async () => {
    const dir = await manyBackups(3000);
    const run = await runIntoClosingReader(['backup', 'list', '--storage', dir]);
    expect(run.firstChunk.length).toBeGreaterThan(0);
    expect(run.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(run.stderr).toBe('');
    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
  });
});
