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
/**
 * Objects per LIST page, and LISTs in flight at once. A page is held until every object on it
 * is decided, so these two bound the memory of reading the cluster: with ConfigMaps of 64 KiB,
 * 4 × 100 objects are 25 MB; with typical objects of a few KiB, about 1 MB.
 */
const PAGE_SIZE = 100;
const LISTS_IN_FLIGHT = 4;

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

/**
 * Read every referenced object and hand each to `onRead` as soon as it is known, at most
 * `concurrency` requests at a time. A LIST's next page is fetched only once `onRead` has
 * finished with the objects of this one, so at most `concurrency` pages are held at once
 * however many objects there are. Never throws per object: a failed read is reported to
 * `onRead` as `{ error }` for each object it concerned.
 */
export async function forEachLiveObject(o: {
  kube: KubeClient;
  refs: LiveRef[];
  concurrency: number;
  threshold?: number;
  onRead: (ref: LiveRef, read: LiveRead) => Promise<void>;
}): Promise<void> {
  const plan = planLiveReads(o.refs, o.threshold);
  const limit = pLimit(o.concurrency);
  const listLimit = pLimit(Math.min(o.concurrency, LISTS_IN_FLIGHT));
  await Promise.all([
    ...plan.gets.map((ref) =>
      limit(async () => {
        let read: LiveRead;
        try {
          read = { object: await o.kube.get(ref.info, ref.namespace, ref.name) };
        } catch (err) {
          read = { error: errorText(err) };
        }
        await o.onRead(ref, read);
      }),
    ),
    ...plan.lists.map((group) => listLimit(() => listGroup(o.kube, group, o.onRead))),
  ]);
}

async function listGroup(
  kube: KubeClient,
  group: LiveReadPlan['lists'][number],
  onRead: (ref: LiveRef, read: LiveRead) => Promise<void>,
): Promise<void> {
  const unseen = new Map(group.refs.map((r) => [r.name, r]));
  let continueToken: string | undefined;
  do {
    let page;
    try {
      page = await kube.list(group.info, {
        ...(group.namespace ? { namespace: group.namespace } : {}),
        limit: PAGE_SIZE,
        ...(continueToken ? { continueToken } : {}),
      });
    } catch (err) {
      // Objects already handed on keep their reading; the rest report why they could not be read.
      const error = errorText(err);
      await Promise.all([...unseen.values()].map((ref) => onRead(ref, { error })));
      return;
    }
    // Only the wanted objects are handed on; the rest of the page is dropped with it.
    const found: [LiveRef, KubeObject][] = [];
    for (const obj of page.items) {
      const ref = unseen.get(obj.metadata.name ?? '');
      if (!ref) continue;
      unseen.delete(ref.name);
      found.push([ref, obj]);
    }
    await Promise.all(found.map(([ref, object]) => onRead(ref, { object })));
    continueToken = page.continueToken;
  } while (continueToken);
  await Promise.all([...unseen.values()].map((ref) => onRead(ref, { object: null })));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
