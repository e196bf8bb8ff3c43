// The policy cache file of `reconcile --once`: a load from a restored cache gives exactly what a
// load without it gives, and a missing, truncated, corrupt, foreign or other build's file is
// ignored, never trusted.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serialize } from 'node:v8';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadPolicyFiles, PolicyFileCache, type PolicySourceFile } from './load.js';
import { policyCacheFilePath, readPolicyCacheFile, writePolicyCacheFile } from './policy-cache-file.js';

const y = (...lines: string[]): string => `${lines.join('\n')}\n`;
const schedule = (name: string, cron: string, extra: string[] = []): string =>
  y(
    'apiVersion: lifeboat.dev/v1',
    'kind: BackupSchedule',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  schedule: "${cron}"`,
    '  template:',
    '    includedNamespaces: [shop]',
    '    storageLocation: disk',
    ...extra,
  );

/** The repository's own policies/ (examples included), and files with findings of each kind. */
function sources(): PolicySourceFile[] {
  const dir = fileURLToPath(new URL('../../policies', import.meta.url));
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.yaml') ? [join(d, e.name)] : [],
    );
  const repo = walk(dir).map((path) => ({ file: relative(dir, path), text: readFileSync(path, 'utf8') }));
  return [
    ...repo,
    {
      file: 'locations/disk.yaml',
      text: y(
        'apiVersion: lifeboat.dev/v1',
        'kind: StorageLocation',
        'metadata:',
        '  name: disk',
        'spec:',
        '  provider: local',
        '  path: /b',
      ),
    },
    { file: 'schedules/a.yaml', text: schedule('nightly', '0 2 * * *') },
    // Across documents: the same name twice; on its own: an impossible date, an unknown field.
    { file: 'schedules/b.yaml', text: schedule('nightly', '0 3 * * *') },
    { file: 'schedules/c.yaml', text: schedule('broken', '0 0 30 2 *', ['  bogus: 1']) },
    // Never written to the file (an alias, broken YAML), so read again by every load.
    { file: 'schedules/d.yaml', text: y('x: &a {b: 1}', 'y: *a') },
    { file: 'schedules/e.yaml', text: y('kind: BackupSchedule', 'metadata: {name: [') },
    {
      file: 'schedules/two.yaml',
      text: `${schedule('first', '0 1 * * *')}---\n${schedule('second', '0 4 * * *')}`,
    },
  ];
}

let dir: string;
let path: string;
const KEY = 'build-a';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-policy-cache-'));
  await mkdir(join(dir, '.git'));
  path = policyCacheFilePath(dir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Load once with a fresh cache and write it, as the first pass does. */
async function firstPass(files: PolicySourceFile[]): Promise<void> {
  const cache = new PolicyFileCache();
  loadPolicyFiles(files, { cache });
  expect(cache.changed).toBe(true);
  await writePolicyCacheFile(path, KEY, cache);
}

describe('policy cache file', () => {
  it('gives what a load without it gives, reading only the files it could not hold', async () => {
    const files = sources();
    const plain = loadPolicyFiles(files);
    expect(plain.errors.map((e) => e.code)).toEqual(expect.arrayContaining(['duplicate-name', 'yaml']));
    expect(plain.documents.length).toBeGreaterThan(5);
    await firstPass(files);
    const cache = await readPolicyCacheFile(path, KEY);
    const again = loadPolicyFiles(files, { cache });
    expect(again).toEqual(plain);
    // d.yaml (alias) and e.yaml (broken) are parsed again; every other file came from the file.
    expect(cache.hits).toBe(files.length - 2);
    // And a second load from the same restored cache still carries nothing over.
    expect(loadPolicyFiles(files, { cache })).toEqual(plain);
  });

  it('reads a changed file again, with its errors at their line, and forgets removed files', async () => {
    const files = sources();
    await firstPass(files);
    const changed = files
      .filter((f) => f.file !== 'schedules/b.yaml')
      .map((f) =>
        f.file === 'schedules/a.yaml' ? { ...f, text: schedule('nightly', '0 2 * * *', ['  extra: 1']) } : f,
      );
    const cache = await readPolicyCacheFile(path, KEY);
    const loaded = loadPolicyFiles(changed, { cache });
    expect(loaded).toEqual(loadPolicyFiles(changed));
    expect(loaded.errors.find((e) => e.file === 'schedules/a.yaml')).toMatchObject({
      line: 10,
      path: 'spec.extra',
    });
    expect(loaded.errors.some((e) => e.code === 'duplicate-name')).toBe(false);
    expect(cache.changed).toBe(true);
    await writePolicyCacheFile(path, KEY, cache);
    const next = await readPolicyCacheFile(path, KEY);
    expect(loadPolicyFiles(changed, { cache: next })).toEqual(loadPolicyFiles(changed));
    expect(next.changed).toBe(false);
  });

  it('does not use entries read with other rule options', async () => {
    const files = sources();
    await firstPass(files);
    const cache = await readPolicyCacheFile(path, KEY);
    const rules = { allowLinkLocalEndpoints: true };
    expect(loadPolicyFiles(files, { cache, rules })).toEqual(loadPolicyFiles(files, { rules }));
    expect(cache.hits).toBe(0);
  });

  it('ignores a missing, truncated, corrupt, foreign or other build’s file', async () => {
    const files = sources();
    const plain = loadPolicyFiles(files);
    const reasons: string[] = [];
    const onIgnored = (reason: string) => reasons.push(reason);
    const check = async (expected: RegExp | undefined) => {
      reasons.length = 0;
      const cache = await readPolicyCacheFile(path, KEY, { onIgnored });
      expect(loadPolicyFiles(files, { cache })).toEqual(plain);
      expect(cache.hits).toBe(0);
      if (expected) expect(reasons).toEqual([expect.stringMatching(expected)]);
      else expect(reasons).toEqual([]);
    };
    await check(undefined); // no file yet
    await firstPass(files);
    const good = await readFile(path);
    await writeFile(path, good.subarray(0, good.length - 10));
    await check(/checksum/);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 20] = (flipped[flipped.length - 20] ?? 0) ^ 0xff;
    await writeFile(path, flipped);
    await check(/checksum/);
    await writeFile(path, good.subarray(0, 12));
    await check(/not a policy cache file/);
    await writeFile(path, serialize({ records: [] }));
    await check(/not a policy cache file/);
    await writeFile(path, good);
    reasons.length = 0;
    const other = await readPolicyCacheFile(path, 'build-b', { onIgnored });
    expect(loadPolicyFiles(files, { cache: other })).toEqual(plain);
    expect(other.hits).toBe(0);
    expect(reasons).toEqual(['written by another build']);
  });

  it('makes no .git where there is none (no checkout, so no cache file)', async () => {
    await rm(join(dir, '.git'), { recursive: true });
    const cache = new PolicyFileCache();
    loadPolicyFiles(sources(), { cache });
    await expect(writePolicyCacheFile(path, KEY, cache)).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('writes atomically: no temporary file is left beside it, and it replaces the old one', async () => {
    const files = sources();
    await firstPass(files);
    await firstPass(files.slice(0, 3));
    expect(await readdir(join(dir, '.git', 'lifeboat-cache'))).toEqual(['policy-files.bin']);
    const cache = await readPolicyCacheFile(path, KEY);
    loadPolicyFiles(files.slice(0, 3), { cache });
    expect(cache.hits).toBe(3);
  });
});
