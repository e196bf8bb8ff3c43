// Writes a container image as an OCI image-layout tarball, offline: one uncompressed layer
// made from files on this machine, its config, manifest and index. `ctr images import` reads
// it into the ground's containerd (no registry is reachable from here). Tarballs are cached
// under a hash of their content, so a second ground start only imports.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack as tarPack, type Pack } from 'tar-stream';

/** One entry of the image's single layer. `path` is absolute inside the image. */
export type LayerEntry =
  | { path: string; type: 'dir'; mode?: number }
  /** Contents of the host file `source` (symlinks followed); mode from the host unless given. */
  | { path: string; type: 'file'; source: string; mode?: number }
  | { path: string; type: 'symlink'; target: string };

/** The runtime part of an OCI image config (the fields a Dockerfile sets). */
export interface ImageRuntimeConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
}

export interface ImageSpec {
  /** Full reference with a domain part, e.g. ground.local/busybox:1. */
  name: string;
  entries: LayerEntry[];
  config: ImageRuntimeConfig;
}

const EPOCH = new Date(0);

/** sha256 of a file's bytes, streamed. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** A hash of everything that ends up in the image: entry list, file contents, config. */
export async function specKey(spec: ImageSpec): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ name: spec.name, config: spec.config }));
  for (const e of spec.entries) {
    hash.update(JSON.stringify(e.type === 'file' ? { ...e, source: undefined } : e));
    if (e.type === 'file') hash.update(await fileSha256(e.source));
  }
  return hash.digest('hex').slice(0, 16);
}

class Sha256Counter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** Add one entry; file contents are streamed with backpressure (the node binary is ~100 MB). */
async function addEntry(pack: Pack, header: Parameters<Pack['entry']>[0], source?: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ uid: 0, gid: 0, mtime: EPOCH, ...header }, (err) =>
      err ? reject(err) : resolve(),
    );
    if (source === undefined) return;
    const input = createReadStream(source);
    input.on('error', reject);
    input.on('data', (chunk) => {
      if (!sink.write(chunk)) {
        input.pause();
        sink.once('drain', () => input.resume());
      }
    });
    input.on('end', () => sink.end(undefined));
  });
}

function parentsOf(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.slice(0, -1).map((_, i) => '/' + parts.slice(0, i + 1).join('/'));
}

/** Writes the layer tar to `out`; returns its sha256 (the diff ID and, uncompressed, the blob digest). */
async function writeLayer(entries: LayerEntry[], out: string): Promise<{ digest: string; size: number }> {
  const pack = tarPack();
  const counter = new Sha256Counter();
  const written = pipeline(pack, counter, createWriteStream(out));
  // Every parent directory appears before its children, once.
  const seen = new Set<string>();
  const explicitDirs = new Map(
    entries.filter((e) => e.type === 'dir').map((e) => [e.path.replace(/\/+$/, ''), e]),
  );
  const ensureDir = async (dir: string): Promise<void> => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const mode = explicitDirs.get(dir)?.mode ?? 0o755;
    await addEntry(pack, { name: `${dir.slice(1)}/`, type: 'directory', mode });
  };
  try {
    for (const e of entries) {
      for (const p of parentsOf(e.path)) await ensureDir(p);
      if (e.type === 'dir') await ensureDir(e.path.replace(/\/+$/, ''));
      else if (e.type === 'symlink') {
        await addEntry(pack, { name: e.path.slice(1), type: 'symlink', linkname: e.target, mode: 0o777 });
      } else {
        const st = await stat(e.source);
        await addEntry(
          pack,
          { name: e.path.slice(1), type: 'file', size: st.size, mode: e.mode ?? st.mode & 0o7777 },
          e.source,
        );
      }
    }
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    throw err;
  } finally {
    await written.catch(() => undefined);
  }
  await written;
  return { digest: `sha256:${counter.hash.digest('hex')}`, size: counter.bytes };
}

function blob(content: object): { bytes: Buffer; digest: string } {
  const bytes = Buffer.from(JSON.stringify(content));
  return { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

/** Writes `spec` as an OCI image-layout tarball at `out`. */
export async function writeImageTarball(spec: ImageSpec, out: string): Promise<void> {
  const layerPath = `${out}.layer`;
  try {
    const layer = await writeLayer(spec.entries, layerPath);
    const config = blob({
      architecture: 'amd64',
      os: 'linux',
      created: EPOCH.toISOString(),
      config: spec.config,
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
      history: [
        { created: EPOCH.toISOString(), created_by: 'lifeboat test ground (test/ground/oci-image.ts)' },
      ],
    });
    const manifest = blob({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: config.digest,
        size: config.bytes.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size },
      ],
    });
    const tag = spec.name.slice(spec.name.lastIndexOf(':') + 1);
    const index = {
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifest.digest,
          size: manifest.bytes.length,
          platform: { architecture: 'amd64', os: 'linux' },
          // containerd names the imported image after io.containerd.image.name.
          annotations: { 'io.containerd.image.name': spec.name, 'org.opencontainers.image.ref.name': tag },
        },
      ],
    };
    const hex = (d: string): string => d.slice('sha256:'.length);
    const pack = tarPack();
    const written = pipeline(pack, createWriteStream(out));
    const addBuffer = (name: string, bytes: Buffer): Promise<void> =>
      new Promise((resolve, reject) =>
        pack.entry({ name, mode: 0o644, mtime: EPOCH }, bytes, (err) => (err ? reject(err) : resolve())),
      );
    try {
      await addBuffer('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
      await addEntry(pack, { name: 'blobs/', type: 'directory', mode: 0o755 });
      await addEntry(pack, { name: 'blobs/sha256/', type: 'directory', mode: 0o755 });
      await addEntry(
        pack,
        { name: `blobs/sha256/${hex(layer.digest)}`, size: layer.size, mode: 0o644 },
        layerPath,
      );
      await addBuffer(`blobs/sha256/${hex(config.digest)}`, config.bytes);
      await addBuffer(`blobs/sha256/${hex(manifest.digest)}`, manifest.bytes);
      await addBuffer('index.json', Buffer.from(JSON.stringify(index)));
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
      await written.catch(() => undefined);
      throw err;
    }
    await written;
  } finally {
    await rm(layerPath, { force: true });
  }
}

/**
 * The tarball for an image from the cache, written first if missing. `key` names the content
 * (specKey, or a hash of the sources the spec is made from); `build` is only called on a miss.
 * The three most recently used tarballs of each image are kept.
 */
export async function cachedImageTarball(opts: {
  cacheDir: string;
  name: string;
  key: string;
  build: () => Promise<ImageSpec>;
}): Promise<{ path: string; fresh: boolean }> {
  const base = opts.name.replace(/[^a-zA-Z0-9.-]+/g, '_');
  const path = join(opts.cacheDir, `${base}-${opts.key}.tar`);
  const now = new Date();
  if (
    await stat(path).then(
      () => true,
      () => false,
    )
  ) {
    await utimes(path, now, now);
    return { path, fresh: false };
  }
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeImageTarball(await opts.build(), tmp);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  await pruneOld(opts.cacheDir, base);
  return { path, fresh: true };
}

async function pruneOld(cacheDir: string, base: string): Promise<void> {
  const mine = (await readdir(cacheDir)).filter((f) => f.startsWith(`${base}-`) && f.endsWith('.tar'));
  const dated = await Promise.all(
    mine.map(async (f) => ({
      f,
      mtime: (await stat(join(cacheDir, f)).catch(() => undefined))?.mtimeMs ?? 0,
    })),
  );
  dated.sort((a, b) => b.mtime - a.mtime);
  await Promise.all(dated.slice(3).map(({ f }) => rm(join(cacheDir, f), { force: true })));
}
