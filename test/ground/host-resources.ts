// What the ground's node takes from the machine besides processes — cgroups, mounts, network
// links, an address and a pod subnet — and the sweep that gives it all back. Several grounds
// with nodes run on one machine at once (parallel test runs, `npm run cluster`), so every
// name here is unique per ground and the sweep touches only what carries that name.
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Mount points of the cgroup hierarchies (v1 controllers, v1 named, and a hybrid v2). */
export async function cgroupMounts(): Promise<string[]> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  return mountinfo
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => {
      const sep = f.indexOf('-');
      return sep > 0 && (f[sep + 1] === 'cgroup' || f[sep + 1] === 'cgroup2');
    })
    .map((f) => unescapeMountPath(f[4] ?? ''));
}

function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Create cgroup `rel` (e.g. /lifeboat-ground-ab12/runtime) in every hierarchy. A new cpuset
 * cgroup starts with no CPUs and no memory nodes, which refuses every process, so each level
 * copies its parent's.
 */
export async function createCgroup(rel: string): Promise<void> {
  const parts = rel.split('/').filter(Boolean);
  for (const mount of await cgroupMounts()) {
    let parent = mount;
    for (const part of parts) {
      const dir = join(parent, part);
      await mkdir(dir, { recursive: true });
      if (existsSync(join(dir, 'cpuset.cpus'))) {
        for (const f of ['cpuset.cpus', 'cpuset.mems']) {
          if ((await readFile(join(dir, f), 'utf8')).trim() === '') {
            await writeFile(join(dir, f), await readFile(join(parent, f), 'utf8'));
          }
        }
      }
      parent = dir;
    }
  }
}

/** `cgroup.procs` files of `rel` and every cgroup below it, deepest first. */
async function cgroupDirs(rel: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name));
    out.push(dir);
  };
  for (const mount of await cgroupMounts()) {
    const root = join(mount, rel);
    if (existsSync(root)) await walk(root);
  }
  return out;
}

async function pidsIn(dirs: string[]): Promise<number[]> {
  const pids = new Set<number>();
  for (const d of dirs) {
    const procs = await readFile(join(d, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const p of procs.split('\n')) if (p.trim()) pids.add(Number(p));
  }
  return [...pids];
}

/** Processes still in cgroup `rel` or below (in any hierarchy). */
export async function cgroupPids(rel: string): Promise<number[]> {
  return pidsIn(await cgroupDirs(rel));
}

/**
 * SIGKILL every process in cgroup `rel` and below (containerd, its shims and every container
 * of the ground's node live there) until none is left, then remove the cgroups.
 */
export async function killAndRemoveCgroup(rel: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = await pidsIn(await cgroupDirs(rel));
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (Date.now() > deadline) throw new Error(`processes ${pids.join(', ')} in cgroup ${rel} did not die`);
    await sleep(100);
  }
  // A memory cgroup can refuse rmdir (EBUSY) for a moment after its last process died.
  for (;;) {
    const left: string[] = [];
    for (const d of await cgroupDirs(rel)) await rmdir(d).catch(() => left.push(d));
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`cgroups could not be removed: ${left.join(', ')}`);
    await sleep(200);
  }
}

/** Mount points at or below `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return mountinfo
    .split('\n')
    .map((l) => unescapeMountPath(l.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/** Unmount everything at or below `dir` (pod volumes, container root file systems, netns bind mounts). */
export async function unmountUnder(dir: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const mounts = await mountsUnder(dir);
    if (mounts.length === 0) return;
    for (const m of mounts) {
      await run('umount', [m]).catch(() => run('umount', ['-l', m]).catch(() => undefined));
    }
  }
  const left = await mountsUnder(dir);
  if (left.length > 0) throw new Error(`could not unmount: ${left.join(', ')}`);
}

/** Delete a network link if it exists; veths attached to a bridge are deleted first. */
export async function deleteBridge(name: string): Promise<void> {
  const { stdout } = await run('ip', ['-o', 'link', 'show', 'master', name]).catch(() => ({ stdout: '' }));
  for (const line of stdout.split('\n')) {
    const port = /^\d+:\s+([^@:\s]+)/.exec(line)?.[1];
    if (port) await run('ip', ['link', 'delete', port]).catch(() => undefined);
  }
  if (await linkExists(name)) await run('ip', ['link', 'delete', name]);
}

export async function linkExists(name: string): Promise<boolean> {
  return run('ip', ['link', 'show', name]).then(
    () => true,
    () => false,
  );
}

/** Names of the links attached to bridge `name` (the host ends of the pods' veths). */
export async function bridgePorts(name: string): Promise<string[]> {
  const { stdout } = await run('ip', ['-o', 'link', 'show', 'master', name]).catch(() => ({ stdout: '' }));
  return stdout
    .split('\n')
    .map((l) => /^\d+:\s+([^@:\s]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n);
}

/**
 * The machine's own non-loopback IPv4 address (the kubelet refuses a loopback --node-ip): the
 * address of the device the default route uses, else the first non-internal one.
 */
export async function nodeAddress(): Promise<string> {
  const ifaces = networkInterfaces();
  const { stdout } = await run('ip', ['-4', 'route', 'show', 'default']).catch(() => ({ stdout: '' }));
  const dev = /\bdev\s+(\S+)/.exec(stdout)?.[1];
  const v4 = (name: string): string | undefined =>
    ifaces[name]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  const fromDefault = dev ? v4(dev) : undefined;
  if (fromDefault) return fromDefault;
  for (const name of Object.keys(ifaces)) {
    if (/^(lo|veth|cni|lbg|docker|br-)/.test(name)) continue;
    const a = v4(name);
    if (a) return a;
  }
  throw new Error('this machine has no non-loopback IPv4 address for the node (kubelet --node-ip)');
}

/**
 * A /24 for this ground's pods that no route on the machine uses yet, out of 10.128.0.0/9
 * (clear of the ground's service range 10.96.0.0/16). Chosen at random, so two grounds
 * starting at the same moment are very unlikely to pick the same one.
 */
export async function freePodSubnet(): Promise<string> {
  const { stdout } = await run('ip', ['-4', 'route', 'show']);
  for (let i = 0; i < 100; i++) {
    const prefix = `10.${randomInt(128, 255)}.${randomInt(0, 256)}.`;
    if (!stdout.includes(prefix)) return `${prefix}0/24`;
  }
  throw new Error('no free pod subnet found in 10.128.0.0/9');
}

/** Processes whose command line mentions `text` (a ground's directory, say). */
export async function processesMentioning(text: string): Promise<{ pid: number; cmdline: string }[]> {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ');
    if (cmdline.includes(text)) found.push({ pid: Number(entry), cmdline: cmdline.trim() });
  }
  return found;
}

/**
 * What a stopped node left on the machine, one line each (empty when clean): processes that
 * mention its directory or sit in its cgroup, mounts below its directory, its bridge, its
 * cgroups.
 */
export async function leftovers(opts: {
  dir: string;
  bridge: string;
  cgroupRoot: string;
}): Promise<string[]> {
  const found: string[] = [];
  for (const p of await processesMentioning(opts.dir)) found.push(`process ${p.pid}: ${p.cmdline}`);
  for (const pid of await cgroupPids(opts.cgroupRoot))
    found.push(`process ${pid} in cgroup ${opts.cgroupRoot}`);
  for (const m of await mountsUnder(opts.dir)) found.push(`mount ${m}`);
  if (await linkExists(opts.bridge)) found.push(`network link ${opts.bridge}`);
  for (const mount of await cgroupMounts()) {
    if (existsSync(join(mount, opts.cgroupRoot))) found.push(`cgroup ${join(mount, opts.cgroupRoot)}`);
  }
  return found;
}

/** Remove the kubelet's /var/log/containers links that point into `podLogsDir`. */
export async function removeContainerLogLinks(podLogsDir: string): Promise<void> {
  const dir = '/var/log/containers';
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const n of names) {
    const target = await readlink(join(dir, n)).catch(() => '');
    if (target.startsWith(`${podLogsDir}/`)) await rm(join(dir, n), { force: true });
  }
}

export async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
