// The images the ground's node runs, written offline from files on this machine:
//  - ground.local/pause:3.10     Kubernetes' own pause.c, compiled by scripts/build-node.sh;
//  - ground.local/busybox:1      Debian's busybox-static with its applet links (/bin/sh, …);
//  - ground.local/lifeboat:dev   the files the Dockerfile puts in the reconciler image: the node
//                                binary with the libraries ldd lists, dist/ (compiled here),
//                                production node_modules, policies/schema, package.json, bin/,
//                                restic (scripts/build-restic.sh) at /usr/local/bin/restic,
//                                with the Dockerfile's ENTRYPOINT, CMD, ENV, USER and WORKDIR.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import {
  cachedImageTarball,
  fileSha256,
  specKey,
  type ImageRuntimeConfig,
  type ImageSpec,
  type LayerEntry,
} from './oci-image.js';
import { resticBinary } from './restic.js';

const run = promisify(execFile);

export const PAUSE_IMAGE = 'ground.local/pause:3.10';
export const BUSYBOX_IMAGE = 'ground.local/busybox:1';
export const LIFEBOAT_IMAGE = 'ground.local/lifeboat:dev';

const BUSYBOX = '/bin/busybox';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface GroundImageTarball {
  name: string;
  path: string;
  /** Whether it was written now (false: taken from the cache). */
  fresh: boolean;
  /**
   * Unpack into a snapshot at import. The lifeboat image (~200 MB, ~10,000 files) is not: its
   * unpacking is most of its import time, and containerd's CRI unpacks an image on the first
   * container that needs it, so only the tests that run it pay.
   */
  unpack: boolean;
}

export function pauseImageSpec(pauseBinary: string): ImageSpec {
  return {
    name: PAUSE_IMAGE,
    entries: [{ path: '/pause', type: 'file', source: pauseBinary, mode: 0o755 }],
    // As Kubernetes' own pause image: no shell, an unprivileged user.
    config: { Entrypoint: ['/pause'], User: '65535:65535' },
  };
}

export async function busyboxImageSpec(): Promise<ImageSpec> {
  if (!existsSync(BUSYBOX)) {
    throw new Error(`${BUSYBOX} is missing: install Debian's busybox-static (scripts/build-node.sh does)`);
  }
  const { stdout } = await run(BUSYBOX, ['--list-full']);
  const applets = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l !== 'bin/busybox')
    .sort();
  const entries: LayerEntry[] = [
    { path: '/bin/busybox', type: 'file', source: BUSYBOX, mode: 0o755 },
    ...applets.map((a): LayerEntry => ({ path: `/${a}`, type: 'symlink', target: '/bin/busybox' })),
    { path: '/tmp', type: 'dir', mode: 0o1777 },
    ...['/etc', '/root', '/var', '/proc', '/sys', '/dev'].map((path): LayerEntry => ({ path, type: 'dir' })),
  ];
  return { name: BUSYBOX_IMAGE, entries, config: { Cmd: ['sh'], Env: [PATH_ENV] } };
}

/** Shared libraries the dynamic loader would load for `binary`, as `ldd` lists them. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

/** ENTRYPOINT, CMD, ENV, USER and WORKDIR of the Dockerfile's final stage. */
export function dockerfileRuntimeConfig(dockerfile: string): ImageRuntimeConfig {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n');
  const lastFrom = lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true);
  const config: ImageRuntimeConfig = { Env: [PATH_ENV] };
  for (const line of lines.slice(lastFrom + 1)) {
    const m = /^(ENTRYPOINT|CMD|ENV|USER|WORKDIR)\s+(.*)$/i.exec(line.trim());
    if (!m?.[1] || m[2] === undefined) continue;
    const [instruction, arg] = [m[1].toUpperCase(), m[2].trim()];
    if (instruction === 'ENTRYPOINT') config.Entrypoint = JSON.parse(arg) as string[];
    else if (instruction === 'CMD') config.Cmd = JSON.parse(arg) as string[];
    else if (instruction === 'USER') config.User = arg;
    else if (instruction === 'WORKDIR') config.WorkingDir = arg;
    else for (const kv of arg.split(/\s+/)) config.Env?.push(kv);
  }
  return config;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out.sort();
}

/**
 * The package directories `npm prune --omit=dev` keeps: every package-lock entry not marked
 * dev, that is installed here. Nested node_modules are entries of their own.
 */
function productionPackages(repo: string): string[] {
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; link?: boolean }>;
  };
  return Object.entries(lock.packages)
    .filter(([path, p]) => path.startsWith('node_modules/') && !p.dev && !p.link)
    .map(([path]) => path)
    .filter((path) => existsSync(join(repo, path)));
}

/** Layer entries for `hostDir` copied to `imageDir`, skipping nested node_modules. */
async function treeEntries(
  hostDir: string,
  imageDir: string,
  skipNodeModules: boolean,
): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  for (const e of await readdir(hostDir, { withFileTypes: true })) {
    const host = join(hostDir, e.name);
    const image = `${imageDir}/${e.name}`;
    if (e.isDirectory()) {
      if (skipNodeModules && e.name === 'node_modules') continue;
      entries.push({ path: image, type: 'dir' }, ...(await treeEntries(host, image, skipNodeModules)));
    } else if (e.isSymbolicLink()) {
      entries.push({ path: image, type: 'symlink', target: await readlink(host) });
    } else if (e.isFile()) {
      entries.push({ path: image, type: 'file', source: host });
    }
  }
  return entries.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** What the lifeboat image is made from, hashed: sources, lockfile, Dockerfile, node and its libraries. */
async function lifeboatSourceKey(repo: string, nodeBinary: string): Promise<string> {
  const hash = createHash('sha256');
  const files = [
    ...(await filesUnder(join(repo, 'src'))).filter((f) => !f.endsWith('.test.ts')),
    ...(await filesUnder(join(repo, 'bin'))),
    ...(await filesUnder(join(repo, 'policies', 'schema'))),
    ...['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'Dockerfile'].map((f) =>
      join(repo, f),
    ),
  ];
  for (const f of files) hash.update(`${relative(repo, f)}\0${await fileSha256(f)}\0`);
  // node_modules is what npm ci made from package-lock.json (hashed above); node and its
  // libraries are hashed by content.
  for (const f of [nodeBinary, ...(await sharedLibraries(nodeBinary)), resticBinary()])
    hash.update(`${f}\0${await fileSha256(f)}\0`);
  return hash.digest('hex').slice(0, 16);
}

async function lifeboatImageSpec(repo: string, nodeBinary: string, distDir: string): Promise<ImageSpec> {
  const entries: LayerEntry[] = [
    { path: '/usr/local/bin/node', type: 'file', source: nodeBinary, mode: 0o755 },
    // Static (CGO_ENABLED=0): no libraries to add.
    { path: '/usr/local/bin/restic', type: 'file', source: resticBinary(), mode: 0o755 },
    ...(await sharedLibraries(nodeBinary)).map((lib): LayerEntry => ({
      path: lib,
      type: 'file',
      source: lib,
    })),
    { path: '/tmp', type: 'dir', mode: 0o1777 },
    { path: '/var/lib/lifeboat', type: 'dir', mode: 0o777 },
    { path: '/app/package.json', type: 'file', source: join(repo, 'package.json') },
    { path: '/app/dist', type: 'dir' },
    ...(await treeEntries(distDir, '/app/dist', false)),
    { path: '/app/bin', type: 'dir' },
    ...(await treeEntries(join(repo, 'bin'), '/app/bin', false)),
    { path: '/app/policies/schema', type: 'dir' },
    ...(await treeEntries(join(repo, 'policies', 'schema'), '/app/policies/schema', false)),
  ];
  for (const pkg of productionPackages(repo)) {
    entries.push(
      { path: `/app/${pkg}`, type: 'dir' },
      ...(await treeEntries(join(repo, pkg), `/app/${pkg}`, true)),
    );
  }
  const config = dockerfileRuntimeConfig(await readFile(join(repo, 'Dockerfile'), 'utf8'));
  return { name: LIFEBOAT_IMAGE, entries, config };
}

/** Compile src/ into a temporary dist/ (not the checkout's, which a person may be using). */
async function compileDist(repo: string): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), 'lifeboat-image-dist-'));
  try {
    await run(
      join(repo, 'node_modules', '.bin', 'tsc'),
      ['-p', join(repo, 'tsconfig.build.json'), '--outDir', out],
      {
        cwd: repo,
      },
    );
  } catch (err) {
    await rm(out, { recursive: true, force: true });
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`compiling dist/ for the lifeboat image failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
  return out;
}

/** The three image tarballs, from the cache or written now. */
export async function groundImageTarballs(opts: {
  repo: string;
  cacheDir: string;
  pauseBinary: string;
  nodeBinary?: string;
}): Promise<GroundImageTarball[]> {
  const cacheDir = join(opts.cacheDir, 'images');
  const nodeBinary = opts.nodeBinary ?? process.execPath;
  const simple = async (spec: ImageSpec): Promise<GroundImageTarball> => {
    const r = await cachedImageTarball({
      cacheDir,
      name: spec.name,
      key: await specKey(spec),
      build: () => Promise.resolve(spec),
    });
    return { name: spec.name, unpack: true, ...r };
  };
  const lifeboat = async (): Promise<GroundImageTarball> => {
    let dist: string | undefined;
    try {
      const r = await cachedImageTarball({
        cacheDir,
        name: LIFEBOAT_IMAGE,
        key: await lifeboatSourceKey(opts.repo, nodeBinary),
        build: async () => {
          dist = await compileDist(opts.repo);
          return lifeboatImageSpec(opts.repo, nodeBinary, dist);
        },
      });
      return { name: LIFEBOAT_IMAGE, unpack: false, ...r };
    } finally {
      if (dist) await rm(dist, { recursive: true, force: true });
    }
  };
  return Promise.all([
    simple(pauseImageSpec(opts.pauseBinary)),
    simple(await busyboxImageSpec()),
    lifeboat(),
  ]);
}
