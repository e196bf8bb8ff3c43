// `lifeboat validate` as CI runs it: the real CLI in a child process, on the repository's own
// example policies and on a repository with broken files; exit codes, the text lines editors
// annotate from, and the JSON for machines.
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/exit-codes.js';
import { DEFAULT_SKIP_DIRS } from '../src/policy/index.js';
import { tempDir } from './ground/world.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const policiesDir = join(root, 'policies');
const execFileAsync = promisify(execFile);

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function lifeboat(args: readonly string[]): Promise<CliRun> {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      [join(root, 'bin/lifeboat.js'), ...args],
      { cwd: root, env: { ...process.env, NO_COLOR: '1' } },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    // A non-zero exit: execFile's error carries the code and both outputs.
    const failed = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

interface JsonResult {
  ok: boolean;
  documents: number;
  errors: { file: string; line: number; column: number; path: string; message: string; code: string }[];
}

/** Documents in a repository as the loader sees it: one per `kind:` line outside the skipped trees. */
async function countDocuments(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  let count = 0;
  for (const entry of entries) {
    if (!entry.isFile() || !/\.ya?ml$/.test(entry.name)) continue;
    const file = join(entry.parentPath, entry.name);
    const top = file.slice(dir.length + 1).split('/')[0] ?? '';
    if (DEFAULT_SKIP_DIRS.includes(top)) continue;
    count += (await readFile(file, 'utf8')).split('\n').filter((l) => l.startsWith('kind:')).length;
  }
  return count;
}

/** 1-based line and column of the first occurrence of `text` in `content`. */
function positionOf(content: string, text: string): { line: number; column: number } {
  const lines = content.split('\n');
  const index = lines.findIndex((l) => l.includes(text));
  if (index < 0) throw new Error(`fixture does not contain ${text}`);
  return { line: index + 1, column: (lines[index] ?? '').indexOf(text) + 1 };
}

const SCHEDULE = `apiVersion: lifeboat.dev/v1
kind: BackupSchedule
metadata:
  name: nightly
spec:
  schedule: '0 2 * * *'
  template:
    includedNamespaces: [shop]
    ttll: 720h
`;

const BROKEN_YAML = `apiVersion: lifeboat.dev/v1
kind: StorageLocation
metadata:
  name: broken
spec:
  provider: local
  path: [unclosed
`;

const VALID_LOCATION = `apiVersion: lifeboat.dev/v1
kind: StorageLocation
metadata:
  name: default
spec:
  provider: local
  path: .lifeboat/backups
`;

describe('lifeboat validate on the example policy repository', () => {
  it('exits 0 and counts every document as valid', async () => {
    const run = await lifeboat(['validate', policiesDir]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(EXIT.ok);
    const documents = await countDocuments(policiesDir);
    expect(documents).toBeGreaterThan(0);
    expect(run.stdout).toBe(`${policiesDir}: ${documents} valid documents, no errors\n`);
  });

  it('prints ok JSON with -o json', async () => {
    const run = await lifeboat(['-o', 'json', 'validate', policiesDir]);
    expect(run.code).toBe(EXIT.ok);
    const result = JSON.parse(run.stdout) as JsonResult;
    expect(result).toEqual({ ok: true, documents: await countDocuments(policiesDir), errors: [] });
  });
});

describe('lifeboat validate on a repository with broken files', () => {
  let repo: string;

  beforeAll(async () => {
    repo = await tempDir('validate-');
    await mkdir(join(repo, 'schedules'));
    await mkdir(join(repo, 'storage-locations'));
    await mkdir(join(repo, 'status'));
    await writeFile(join(repo, 'schedules', 'nightly.yaml'), SCHEDULE);
    await writeFile(join(repo, 'storage-locations', 'broken.yaml'), BROKEN_YAML);
    await writeFile(join(repo, 'storage-locations', 'default.yaml'), VALID_LOCATION);
    // The reconciler's tree is never loaded, whatever it holds.
    await writeFile(join(repo, 'status', 'garbage.yaml'), 'not: [valid\n');
  });

  it('exits 4 with one file:line:col: message line per error and a summary', async () => {
    const run = await lifeboat(['validate', repo]);
    expect(run.code).toBe(EXIT.invalid);
    const lines = run.stdout.trimEnd().split('\n');
    const summary = lines.pop();
    expect(summary).toBe(`${repo}: 2 errors in 2 files; 1 valid document`);
    for (const line of lines) expect(line).toMatch(/^.+\.yaml:\d+:\d+: .+$/);

    const ttl = positionOf(SCHEDULE, 'ttll');
    expect(lines).toContain(
      `${join(repo, 'schedules', 'nightly.yaml')}:${ttl.line}:${ttl.column}: ` +
        'unknown field "ttll" (did you mean "ttl"?) (spec.template.ttll)',
    );
    const yamlError = lines.find((l) => l.startsWith(`${join(repo, 'storage-locations', 'broken.yaml')}:`));
    expect(yamlError).toMatch(/:\d+:\d+: YAML: /);
    expect(run.stdout).not.toContain('status/');
  });

  it('prints JSON naming file, line, column and field path, with --json and with -o json alike', async () => {
    const [viaFlag, viaOutput] = await Promise.all([
      lifeboat(['validate', repo, '--json']),
      lifeboat(['validate', '-o', 'json', repo]),
    ]);
    expect(viaFlag.code).toBe(EXIT.invalid);
    expect(viaOutput.code).toBe(EXIT.invalid);
    expect(viaOutput.stdout).toBe(viaFlag.stdout);

    const result = JSON.parse(viaFlag.stdout) as JsonResult;
    expect(result.ok).toBe(false);
    expect(result.documents).toBe(1);
    const ttl = positionOf(SCHEDULE, 'ttll');
    expect(result.errors).toContainEqual(
      expect.objectContaining({
        file: 'schedules/nightly.yaml',
        line: ttl.line,
        column: ttl.column,
        path: 'spec.template.ttll',
        code: 'unknown-field',
      }),
    );
    expect(result.errors).toContainEqual(
      expect.objectContaining({ file: 'storage-locations/broken.yaml', code: 'yaml', path: '' }),
    );
    expect(result.errors).toHaveLength(2);
  });

  it('exits 2 (usage) when the directory does not exist', async () => {
    const missing = join(repo, 'no-such-dir');
    const run = await lifeboat(['validate', missing]);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`policy repository ${missing}: cannot read it (ENOENT)`);
  });
});
