// `npm run bench -- volumes --trace`: where a restore's time goes. Every call the benchmark's
// KubeClient makes during one restore (raw or lifeboat) is recorded with its start, its end and
// what it saw (a claim's phase, a snapshot's readyToUse), and the lines of the CSI sidecars',
// snapshot controller's and controller manager's logs written in the same window that name the
// restore's objects are merged in, so the two paths can be read side by side: when each
// snapshot became ready, when each claim was created, provisioned and bound, and what the
// client did in between.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeClient } from '../src/kube/client.js';
import type { KubeObject, ResourceInfo } from '../src/kube/types.js';
import type { BackupStore } from '../src/storage/store.js';

interface Call {
  start: number;
  end: number;
  what: string;
}

/** What a read saw, in a few words. */
function summary(obj: KubeObject | null): string {
  if (obj === null) return 'absent';
  const status = obj.status as { phase?: unknown; readyToUse?: unknown } | undefined;
  if (status?.phase !== undefined) return JSON.stringify(status.phase);
  if (status?.readyToUse !== undefined) return `readyToUse=${JSON.stringify(status.readyToUse)}`;
  return 'found';
}

/**
 * Records the client's calls (and the store's, when given) while started; both are patched
 * once, for the process.
 */
export function kubeTracer(kube: KubeClient, store?: BackupStore): { start(): void; stop(): Call[] } {
  let calls: Call[] | undefined;
  const wrap = <A extends unknown[], R>(
    name: string,
    fn: (...args: A) => Promise<R>,
    describe: (args: A, result: R | undefined) => string,
  ): ((...args: A) => Promise<R>) => {
    return async (...args: A) => {
      const start = Date.now();
      let result: R | undefined;
      try {
        result = await fn(...args);
        return result;
      } finally {
        calls?.push({ start, end: Date.now(), what: `${name} ${describe(args, result)}` });
      }
    };
  };
  const ref = (info: ResourceInfo, ns: string, name: string): string =>
    `${info.resource} ${ns ? `${ns}/` : ''}${name}`;
  const k = kube as unknown as Record<string, unknown>;
  const get = kube.get.bind(kube);
  k.get = wrap(
    'GET',
    get,
    ([info, ns, name], r) => `${ref(info, ns, name)} → ${r === undefined ? 'error' : summary(r)}`,
  );
  const create = kube.create.bind(kube);
  k.create = wrap(
    'CREATE',
    create,
    ([info, obj, o]) =>
      `${ref(info, obj.metadata.namespace ?? '', obj.metadata.name ?? '')}${o?.dryRun ? ' (dry run)' : ''}`,
  );
  const del = kube.delete.bind(kube);
  k.delete = wrap('DELETE', del, ([info, ns, name]) => ref(info, ns, name));
  const list = kube.list.bind(kube);
  k.list = wrap(
    'LIST',
    list,
    ([info, o], r) => `${info.resource} ${o?.namespace ?? ''} → ${r?.items.length ?? '?'}`,
  );
  const discover = kube.discover.bind(kube);
  k.discover = wrap('DISCOVERY', discover, (_args, r) => `${r?.length ?? '?'} group versions`);
  if (store) {
    const st = store as unknown as Record<string, unknown>;
    const get = store.get.bind(store);
    st.get = wrap('STORE GET', get, ([key]) => key);
    const put = store.put.bind(store);
    st.put = wrap('STORE PUT', put, ([key]) => key);
    const exists = store.exists.bind(store);
    st.exists = wrap('STORE EXISTS', exists, ([key]) => key);
  }
  return {
    start: () => {
      calls = [];
    },
    stop: () => {
      const out = calls ?? [];
      calls = undefined;
      return out;
    },
  };
}

const LOGS = [
  'csi-provisioner',
  'csi-snapshotter',
  'snapshot-controller',
  'kube-controller-manager',
  'csi-driver',
];

/** klog's "I1204 19:00:01.123456" (local time, which is UTC on the ground's machine). */
function klogTime(line: string, year: number): number | undefined {
  const m = /^[IWEF](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d+)/.exec(line);
  if (!m) return undefined;
  const [, mo, d, h, mi, s, frac] = m;
  return new Date(`${year}-${mo}-${d}T${h}:${mi}:${s}.${(frac ?? '0').slice(0, 3).padEnd(3, '0')}`).getTime();
}

/** Log lines written between `from` and `to` that mention any of `names`. */
export async function logLines(
  logDir: string,
  from: number,
  to: number,
  names: string[],
): Promise<{ t: number; what: string }[]> {
  const year = new Date(from).getFullYear();
  const out: { t: number; what: string }[] = [];
  for (const log of LOGS) {
    let text: string;
    try {
      text = await readFile(join(logDir, `${log}.log`), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const t = klogTime(line, year);
      if (t === undefined || t < from || t > to) continue;
      if (!names.some((n) => line.includes(n))) continue;
      const msg = line.replace(/^\S+ \S+\s+\d+ /, '');
      out.push({ t, what: `[${log}] ${msg.slice(0, 220)}` });
    }
  }
  return out;
}

/** The merged timeline, in seconds after `from`. */
export function timeline(from: number, calls: Call[], lines: { t: number; what: string }[]): string[] {
  const rows = [
    ...calls.map((c) => ({ t: c.start, text: `${((c.end - c.start) / 1000).toFixed(3)}s ${c.what}` })),
    ...lines.map((l) => ({ t: l.t, text: `        ${l.what}` })),
  ].sort((a, b) => a.t - b.t);
  return rows.map((r) => `  +${((r.t - from) / 1000).toFixed(3)} ${r.text}`);
}
