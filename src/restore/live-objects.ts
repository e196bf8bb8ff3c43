// Reading the live objects a restore plan compares with. One GET per object is one round trip
// per object, which made planning cost as much as the restore itself; where a plan holds many
// objects of one resource in one namespace, one paged LIST reads them all and they are looked
// up by name. A few objects are still read one by one: a LIST would read every object of that
// type in the namespace, which can be far more than the few wanted.
import pLimit from 'p-limit';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import { apiVersionOf } from '../kube/types.js';

export interface LiveRef {
  /** The resource at the version to read it in (the object's own version, see atObjectVersion). */
  info: ResourceInfo;
  /** '' for cluster-scoped objects. */
  namespace: string;
  name: string;
}

/** The object (null: it does not exist), or why it could not be read. */
export type LiveRead = { object: KubeObject | null } | { error: string };

/** From this many objects of one resource in one namespace on, they are read with one LIST. */
export const LIST_THRESHOLD = 16;
const PAGE_SIZE = 500;

export function liveKey(ref: LiveRef): string {
  return `${apiVersionOf(ref.info)}/${ref.info.resource}/${ref.namespace}/${ref.name}`;
}

export interface LiveReadPlan {
  lists: { info: ResourceInfo; namespace: string; refs: LiveRef[] }[];
  gets: LiveRef[];
}

/** Which objects to read with one LIST per resource, version and namespace, and which with GET. */
export function planLiveReads(refs: LiveRef[], threshold = LIST_THRESHOLD): LiveReadPlan {
  const groups = new Map<string, { info: ResourceInfo; namespace: string; refs: LiveRef[] }>();
  const seen = new Set<string>();
  for (const ref of refs) {
    const key = liveKey(ref);
    if (seen.has(key)) continue;
    seen.add(key);
    const groupKey = `${apiVersionOf(ref.info)}/${ref.info.resource}/${ref.namespace}`;
    let group = groups.get(groupKey);
    if (!group) groups.set(groupKey, (group = { info: ref.info, namespace: ref.namespace, refs: [] }));
    group.refs.push(ref);
  }
  const plan: LiveReadPlan = { lists: [], gets: [] };
  for (const group of groups.values()) {
    if (group.refs.length >= threshold) plan.lists.push(group);
    else plan.gets.push(...group.refs);
  }
  return plan;
}

/** Read every referenced object, at most `concurrency` requests at a time. Never throws per object. */
export async function readLiveObjects(o: {
  kube: KubeClient;
  refs: LiveRef[];
  concurrency: number;
  threshold?: number;
}): Promise<Map<string, LiveRead>> {
  const plan = planLiveReads(o.refs, o.threshold);
  const out = new Map<string, LiveRead>();
  const limit = pLimit(o.concurrency);
  await Promise.all([
    ...plan.gets.map((ref) =>
      limit(async () => {
        try {
          out.set(liveKey(ref), { object: await o.kube.get(ref.info, ref.namespace, ref.name) });
        } catch (err) {
          out.set(liveKey(ref), { error: errorText(err) });
        }
      }),
    ),
    ...plan.lists.map((group) => limit(() => listGroup(o.kube, group, out))),
  ]);
  return out;
}

async function listGroup(
  kube: KubeClient,
  group: LiveReadPlan['lists'][number],
  out: Map<string, LiveRead>,
): Promise<void> {
  const wanted = new Map(group.refs.map((r) => [r.name, r]));
  try {
    let continueToken: string | undefined;
    do {
      const page = await kube.list(group.info, {
        ...(group.namespace ? { namespace: group.namespace } : {}),
        limit: PAGE_SIZE,
        ...(continueToken ? { continueToken } : {}),
      });
      // Only the wanted objects are kept; the rest of the page is dropped with it.
      for (const obj of page.items) {
        const ref = wanted.get(obj.metadata.name ?? '');
        if (ref) out.set(liveKey(ref), { object: obj });
      }
      continueToken = page.continueToken;
    } while (continueToken);
    for (const ref of group.refs) if (!out.has(liveKey(ref))) out.set(liveKey(ref), { object: null });
  } catch (err) {
    for (const ref of group.refs) out.set(liveKey(ref), { error: errorText(err) });
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
