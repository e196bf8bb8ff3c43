import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { extract as tarExtract, pack as tarPack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { readArchive } from './reader.js';
import {
  headerDir,
  paddingOf,
  paxPathRecord,
  TAR_BLOCK,
  TarFileHeaders,
  ustarSplit,
  type TarFileFields,
} from './tar-header.js';

const run = promisify(execFile);

interface TestFile {
  path: string;
  content: Buffer;
}

/** A small deterministic generator (mulberry32), so a failure can be repeated from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ASCII = 'abcdefghijklmnopqrstuvwxyz0123456789-_.';
const UNICODE = ['é', 'ß', 'ü', '日本', '名前', 'Ω', '😀', 'ñ'];

/**
 * Paths as a backup writes them and worse: 1-8 segments of 1-120 characters, now and then
 * non-ASCII; lengths spread over the ustar limits (100 name, 155 prefix) and well past them.
 * Every segment is a valid file name, so GNU tar can extract them.
 */
function randomPath(next: () => number, unicode: boolean): string {
  const segments = 1 + Math.floor(next() * 8);
  const parts: string[] = [];
  for (let s = 0; s < segments; s++) {
    const length = 1 + Math.floor(next() ** 2 * 120);
    let seg = '';
    while (seg.length < length) {
      seg +=
        unicode && next() < 0.02
          ? (UNICODE[Math.floor(next() * UNICODE.length)] as string)
          : ASCII[Math.floor(next() * ASCII.length)];
    }
    parts.push(seg === '.' || seg === '..' ? 'x' : seg);
  }
  return parts.join('/');
}

function randomSize(next: () => number): number {
  const r = next();
  if (r < 0.1) return 0;
  if (r < 0.3) return TAR_BLOCK * Math.floor(next() * 4) + [0, 1, 511][Math.floor(next() * 3)]!;
  return Math.floor(next() * 70_000);
}

function randomFields(next: () => number): TarFileFields {
  const names = ['', 'root', 'lifeboat', 'n'.repeat(32), 'ünï'];
  return {
    mode: Math.floor(next() * 0o10000),
    // tar-stream truncates mtimes to a signed 32-bit number of seconds: compared up to 2038.
    mtime: new Date(Math.floor(next() * 2 ** 31) * 1000 + Math.floor(next() * 1000)),
    uid: Math.floor(next() * 0o777777),
    gid: next() < 0.5 ? 0 : Math.floor(next() * 0o777777),
    uname: names[Math.floor(next() * names.length)] as string,
    gname: names[Math.floor(next() * names.length)] as string,
  };
}

/** The tar (not gzipped) tar-stream's packer writes for these files. */
async function tarStreamTar(fields: TarFileFields, files: readonly TestFile[]): Promise<Buffer> {
  const pack = tarPack();
  const chunks: Buffer[] = [];
  const read = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const f of files) {
    await new Promise<void>((resolve, reject) => {
      pack.entry({ name: f.path, type: 'file', ...fields }, f.content, (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }
  pack.finalize();
  await read;
  return Buffer.concat(chunks);
}

/** The same tar from TarFileHeaders: headers, content, padding, two zero blocks. */
function ownTar(fields: TarFileFields, files: readonly TestFile[]): Buffer {
  const headers = new TarFileHeaders(fields);
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(Buffer.from(headers.encode(f.path, f.content.length)));
    parts.push(f.content, Buffer.alloc(paddingOf(f.content.length)));
  }
  parts.push(Buffer.alloc(2 * TAR_BLOCK));
  return Buffer.concat(parts);
}

/**
 * The same tar with each ustar header written by encodeUstarInto, in place, over bytes that
 * are not zero (the archive writer reuses its blocks); encode() for the paths it refuses.
 */
function ownTarInPlace(fields: TarFileFields, files: readonly TestFile[]): Buffer {
  const headers = new TarFileHeaders(fields);
  const parts: Buffer[] = [];
  for (const f of files) {
    const block = Buffer.alloc(TAR_BLOCK + 7, 0xa5);
    if (headers.encodeUstarInto(block, 7, f.path, f.content.length)) parts.push(block.subarray(7));
    else parts.push(Buffer.from(headers.encode(f.path, f.content.length)));
    parts.push(f.content, Buffer.alloc(paddingOf(f.content.length)));
  }
  parts.push(Buffer.alloc(2 * TAR_BLOCK));
  return Buffer.concat(parts);
}

function randomFiles(next: () => number, count: number, unicode: boolean): TestFile[] {
  return Array.from({ length: count }, () => {
    const size = randomSize(next);
    const content = Buffer.alloc(size);
    for (let i = 0; i < size; i += 97) content[i] = Math.floor(next() * 256);
    return { path: randomPath(next, unicode), content };
  });
}

/** The first offset where two buffers differ, for a readable failure. */
function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

describe('TarFileHeaders', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'writes the same bytes as tar-stream for 300 random paths, sizes, modes, mtimes and owners (seed %i)',
    async (seed) => {
      const next = random(seed);
      const fields = randomFields(next);
      const files = randomFiles(next, 300, seed % 2 === 0);
      const expected = await tarStreamTar(fields, files);
      const actual = ownTar(fields, files);
      expect(firstDifference(actual, expected)).toBe(-1);
      expect(firstDifference(ownTarInPlace(fields, files), expected)).toBe(-1);
      // The random paths reach every case: ustar name only, name + prefix, and pax.
      const kinds = new Set(files.map((f) => kindOf(f.path)));
      expect([...kinds].sort()).toEqual(['name', 'pax', 'prefix']);
    },
    120_000,
  );

  it.each([
    ['exactly 100 bytes', 'a'.repeat(100)],
    ['101 bytes without a slash', 'a'.repeat(101)],
    ['101 bytes, one slash', `${'a'.repeat(50)}/${'b'.repeat(50)}`],
    ['name of 100 after the prefix', `p/${'b'.repeat(100)}`],
    ['name of 101 after the prefix', `p/${'b'.repeat(101)}`],
    ['prefix of exactly 155', `${'p'.repeat(155)}/${'n'.repeat(20)}`],
    ['prefix of 156', `${'p'.repeat(156)}/${'n'.repeat(20)}`],
    ['a prefix of many segments', `${Array.from({ length: 40 }, (_, i) => `s${i}`).join('/')}/end.json`],
    ['an empty segment', `a//${'b'.repeat(120)}`],
    [
      'a long Kubernetes item path',
      `resources/widgets.bench.lifeboat.dev/v1-preferredversion/namespaces/${'n'.repeat(63)}/${'w'.repeat(253)}.json`,
    ],
    ['a pax record of 98 bytes (its length turns 3 digits)', 'x'.repeat(90)],
    ['a pax record around 1,000 bytes', `${'d/'.repeat(400)}${'e'.repeat(192)}`],
    ['unicode under 100 bytes', 'resources/configmaps/namespaces/ns/ünïcödé.json'],
    ['the empty path', ''],
  ])(
    'writes the same bytes as tar-stream for %s',
    async (_label, path) => {
      const fields: TarFileFields = { mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' };
      for (const size of [0, 1, 511, 512, 513, 2000]) {
        const files = [{ path, content: Buffer.alloc(size, 0x61) }];
        const expected = await tarStreamTar(fields, files);
        expect(firstDifference(ownTar(fields, files), expected)).toBe(-1);
        expect(firstDifference(ownTarInPlace(fields, files), expected)).toBe(-1);
      }
    },
    120_000,
  );

  it('splits at the first slashes as tar-stream does, or asks for pax', () => {
    expect(ustarSplit('short/path.json')).toEqual({ name: 'short/path.json', prefix: '' });
    expect(ustarSplit(`a/b/${'c'.repeat(99)}`)).toEqual({ name: 'c'.repeat(99), prefix: 'a/b' });
    expect(ustarSplit(`a/${'b'.repeat(100)}/c`)).toEqual({ name: 'c', prefix: `a/${'b'.repeat(100)}` });
    expect(ustarSplit('é')).toBeUndefined();
    expect(ustarSplit('x'.repeat(101))).toBeUndefined();
  });

  it('writes in place exactly the paths that fit a ustar header, and refuses the others', () => {
    const headers = new TarFileHeaders({
      mode: 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      uname: '',
      gname: '',
    });
    const block = Buffer.alloc(TAR_BLOCK);
    const next = random(11);
    for (const f of randomFiles(next, 500, true)) {
      const fits = headers.encodeUstarInto(block, 0, f.path, f.content.length);
      expect(fits).toBe(kindOf(f.path) !== 'pax');
      if (fits) expect(block.equals(headers.encode(f.path, f.content.length))).toBe(true);
    }
    expect(() => headers.encodeUstarInto(block, 0, 'a', 8 ** 11)).toThrow('tar header: size');
  });

  it('writes a directory and a path joined as encode() writes the whole path, when it fits a name field', () => {
    const headers = new TarFileHeaders({
      mode: 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      uname: '',
      gname: '',
    });
    const block = Buffer.alloc(TAR_BLOCK, 0xff);
    const next = random(12);
    const dirs = [
      'resources/configmaps/',
      'resources/configmaps/v1-preferredversion/',
      'a/',
      `${'d'.repeat(98)}/`,
    ];
    let joined = 0;
    for (const f of randomFiles(next, 500, true)) {
      for (const text of dirs) {
        const dir = headerDir(text);
        const whole = text + f.path;
        const fits = headers.encodeJoinedInto(block, 0, { dir, rest: f.path }, f.content.length);
        // Only a name of at most 100 ASCII bytes is joined; a prefix split or pax goes the long way.
        expect(fits).toBe(kindOf(whole) === 'name');
        if (fits) {
          joined++;
          expect(firstDifference(block, headers.encode(whole, f.content.length))).toBe(-1);
        }
      }
    }
    expect(joined).toBeGreaterThan(100);
    // A directory that cannot start a name field never joins.
    for (const text of ['ü/', `${'d'.repeat(101)}/`]) {
      expect(headerDir(text).short).toBe(false);
      expect(headers.encodeJoinedInto(block, 0, { dir: headerDir(text), rest: 'x.json' }, 1)).toBe(false);
    }
    expect(() => headers.encodeJoinedInto(block, 0, { dir: headerDir('a/'), rest: 'b' }, 8 ** 11)).toThrow(
      'tar header: size',
    );
  });

  it('writes pax lengths that count their own digits', () => {
    for (const length of [1, 5, 90, 91, 92, 93, 994, 995, 996, 997, 5000]) {
      const record = paxPathRecord('p'.repeat(length));
      const [declared] = record.split(' ');
      expect(Number(declared)).toBe(Buffer.byteLength(record));
    }
    expect(paxPathRecord('日本')).toBe(`15 path=日本\n`);
  });

  it.each([
    ['uid', { uid: 0o1000000 }, 'tar header: uid 262144 is outside 0..262143'],
    ['gid', { gid: -1 }, 'tar header: gid -1 is outside 0..262143'],
    ['mtime', { mtime: new Date(-1000) }, 'tar header: mtime (seconds since 1970) -1 is outside'],
    ['uname', { uname: 'u'.repeat(33) }, 'is longer than 32 bytes'],
  ])('refuses a %s it cannot write', (_field, override, message) => {
    const fields = { mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '', ...override };
    expect(() => new TarFileHeaders(fields)).toThrow(message);
  });

  it('writes mtimes past 2038 that GNU tar and tar-stream read back', async () => {
    // tar-stream's packer wraps these to negative numbers; ours writes the eleven octal digits.
    const mtime = new Date(Date.UTC(2200, 0, 2, 3, 4, 5));
    const fields: TarFileFields = { mode: 0o600, mtime, uid: 1000, gid: 1000, uname: 'a', gname: 'b' };
    const tar = ownTar(fields, [{ path: 'late.json', content: Buffer.from('{}') }]);
    const listed = await gnuTar(['--utc', '--numeric-owner', '-tvf', '-'], tar);
    expect(listed.trim()).toBe('-rw------- 1000/1000         2 2200-01-02 03:04 late.json');
    const headers = await tarStreamHeaders(tar);
    expect(headers[0]?.mtime?.getTime()).toBe(mtime.getTime());
  });
});

describe('archives written with TarFileHeaders', () => {
  it('are listed and extracted by GNU tar with their paths, sizes, modes, owners and contents', async () => {
    const next = random(42);
    const fields: TarFileFields = {
      mode: 0o640,
      mtime: new Date(Date.UTC(2026, 11, 4, 12, 30, 0)),
      uid: 4242,
      gid: 4343,
      uname: 'lifeboat',
      gname: 'backup',
    };
    // Unique paths, none of them a prefix directory of another (GNU tar would need a directory).
    const files = dedupe(randomFiles(next, 200, true));
    const tarball = gzipSync(ownTar(fields, files));

    const listed = (await gnuTar(['--utc', '--numeric-owner', '-tzvf', '-'], tarball)).trim().split('\n');
    expect(listed).toHaveLength(files.length);
    listed.forEach((line, i) => {
      const f = files[i] as TestFile;
      // GNU tar may quote non-ASCII names in listings (\303\251); compare the decoded name.
      const match = /^(\S+) (\d+)\/(\d+) +(\d+) (\S+ \S+) (.*)$/.exec(line);
      expect(match?.slice(1, 6)).toEqual([
        '-rw-r-----',
        '4242',
        '4343',
        String(f.content.length),
        '2026-12-04 12:30',
      ]);
      expect(unquote(match?.[6] ?? '')).toBe(f.path);
    });

    const dir = await mkdtemp(join(tmpdir(), 'tar-header-'));
    try {
      const archive = join(dir, 'a.tar.gz');
      await writeFile(archive, tarball);
      await run('tar', ['-xzf', archive, '-C', dir, '--no-same-owner']);
      for (const f of files) {
        const content = await readFile(join(dir, f.path));
        expect(content.equals(f.content)).toBe(true);
        const s = await stat(join(dir, f.path));
        expect(s.mtime.getTime()).toBe(fields.mtime.getTime());
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('are read by the archive reader, entry for entry', async () => {
    const next = random(7);
    const files = randomFiles(next, 300, true).filter((f) => !f.path.split('/').includes('..'));
    const fields: TarFileFields = { mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' };
    const tarball = gzipSync(ownTar(fields, files));
    const read: TestFile[] = [];
    for await (const e of readArchive(Readable.from([tarball]), { source: 'test' })) {
      read.push({ path: e.path, content: e.content });
    }
    expect(read.map((f) => f.path)).toEqual(files.map((f) => f.path));
    read.forEach((f, i) => expect(f.content.equals((files[i] as TestFile).content)).toBe(true));
  }, 120_000);
});

function kindOf(path: string): 'name' | 'prefix' | 'pax' {
  const split = ustarSplit(path);
  if (!split) return 'pax';
  return split.prefix === '' ? 'name' : 'prefix';
}

function dedupe(files: TestFile[]): TestFile[] {
  const paths = new Set(files.map((f) => f.path));
  const seen = new Set<string>();
  return files.filter((f) => {
    const isDirectoryOfAnother = [...paths].some((p) => p.startsWith(`${f.path}/`));
    // A file whose parent directories are another file's path cannot be extracted either.
    const parts = f.path.split('/');
    const parentIsFile = parts.slice(1).some((_, i) => paths.has(parts.slice(0, i + 1).join('/')));
    if (isDirectoryOfAnother || parentIsFile || seen.has(f.path)) return false;
    seen.add(f.path);
    return true;
  });
}

/** GNU tar's listing may quote bytes outside ASCII as octal escapes (\303\251), by locale. */
function unquote(name: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    if (name[i] === '\\' && /^[0-7]{3}$/.test(name.slice(i + 1, i + 4))) {
      bytes.push(parseInt(name.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      const point = name.codePointAt(i) as number;
      const char = String.fromCodePoint(point);
      bytes.push(...Buffer.from(char));
      i += char.length - 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

async function gnuTar(args: string[], input: Buffer): Promise<string> {
  const child = execFile('tar', args, { maxBuffer: 64 * 1024 * 1024 });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c));
  child.stdin?.end(input);
  const code = await new Promise<number | null>((done) => child.on('close', done));
  if (code !== 0) throw new Error(`tar ${args.join(' ')} exited with ${code}: ${err}`);
  return out;
}

async function tarStreamHeaders(tar: Buffer): Promise<{ mtime?: Date }[]> {
  const extract = tarExtract();
  Readable.from([tar]).pipe(extract);
  const headers = [];
  for await (const entry of extract) {
    headers.push(entry.header);
    entry.resume();
  }
  return headers;
}
