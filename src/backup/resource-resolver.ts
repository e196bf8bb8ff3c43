// Resolves the resource names people write in specs — `deployments`, `deployment`, `Deployment`,
// `deploy`, `deployments.apps`, `*` — to the canonical group-resource string Velero prints
// (`deployments.apps`; `pods` for the core group).
//
// The rules are kubectl's, which Velero inherits through its discovery helper
// (vmware-tanzu/velero pkg/discovery/helper.go: a discovery RESTMapper wrapped in kubectl's
// shortcut expander, fed `schema.ParseGroupResource(name)`):
//   1. `name.group` splits at the first dot; the group part must match exactly.
//   2. An exact plural or singular resource name wins over everything else
//      (kubectl shortcut expander: "avoid expanding if there's an exact match to a full
//      resource name"), so a CRD short name can never shadow a real resource name.
//   3. Then short names (`deploy`, `cm`), then the kind (`Deployment`, kubectl's fallback of
//      treating the argument as a kind). Names compare case-insensitively.
//   4. When several resources match at the same step, the core group wins, then discovery
//      order — the order of the API server's group list, which is how kubectl's
//      PriorityRESTMapper ranks groups (discovery-rules.ts moves `extensions` last, as Velero
//      does, so `deployments` means apps).
import { groupResource, type ResourceInfo } from '../kube/types.js';

export class UnknownResourceError extends Error {
  constructor(
    readonly input: string,
    /** Canonical names of resources that look close to the input. */
    readonly suggestions: string[],
  ) {
    const hint =
      suggestions.length > 0 ? `; did you mean ${suggestions.map((s) => `"${s}"`).join(' or ')}?` : '';
    super(`unknown resource ${JSON.stringify(input)}: the cluster serves no such resource${hint}`);
    this.name = 'UnknownResourceError';
  }
}

export interface ResourceResolver {
  /** The resource `name` refers to; throws UnknownResourceError. */
  resolve(name: string): ResourceInfo;
  /** Like resolve, but undefined for an unknown name. */
  tryResolve(name: string): ResourceInfo | undefined;
  /** The canonical `resource.group` string for `name`; `*` stays `*`. Throws UnknownResourceError. */
  groupResourceOf(name: string): string;
  /**
   * Every resource `name` could mean at the step that decided it, best first. More than one
   * means the name is ambiguous and the first was chosen (callers may warn, as kubectl does).
   */
  candidates(name: string): ResourceInfo[];
  /** Resources with a canonical name close to `name`, for error messages. */
  suggest(name: string): string[];
}

interface RankedResource {
  info: ResourceInfo;
  rank: number;
}

type NameIndex = Map<string, RankedResource[]>;

function addToIndex(index: NameIndex, key: string, entry: RankedResource): void {
  if (key === '') return;
  const list = index.get(key);
  if (!list) {
    index.set(key, [entry]);
  } else if (!list.some((existing) => existing.info === entry.info)) {
    list.push(entry);
  }
}

/** Split `name.group` at the first dot, as schema.ParseGroupResource does. */
function splitName(input: string): { name: string; group: string | undefined } {
  const lower = input.trim().toLowerCase();
  const dot = lower.indexOf('.');
  if (dot < 0) return { name: lower, group: undefined };
  return { name: lower.slice(0, dot), group: lower.slice(dot + 1) };
}

export function createResourceResolver(resources: readonly ResourceInfo[]): ResourceResolver {
  const byName: NameIndex = new Map(); // plural and singular
  const byShortName: NameIndex = new Map();
  const byKind: NameIndex = new Map();
  const canonical = new Map<string, ResourceInfo>();

  resources.forEach((info, index) => {
    // Core group first, then discovery order (see the header comment, rule 4).
    const entry = { info, rank: (info.group === '' ? 0 : resources.length) + index };
    addToIndex(byName, info.resource.toLowerCase(), entry);
    addToIndex(byName, (info.singularName || info.kind).toLowerCase(), entry);
    for (const short of info.shortNames) addToIndex(byShortName, short.toLowerCase(), entry);
    addToIndex(byKind, info.kind.toLowerCase(), entry);
    const key = groupResource(info);
    if (!canonical.has(key)) canonical.set(key, info);
  });
  for (const index of [byName, byShortName, byKind]) {
    for (const list of index.values()) list.sort((a, b) => a.rank - b.rank);
  }

  function candidates(input: string): ResourceInfo[] {
    const { name, group } = splitName(input);
    if (name === '' || name === '*') return [];
    for (const index of [byName, byShortName, byKind]) {
      const matches = (index.get(name) ?? []).filter(
        (entry) => group === undefined || entry.info.group === group,
      );
      if (matches.length > 0) return matches.map((entry) => entry.info);
    }
    return [];
  }

  // Every name a person could type: canonical `resource.group` strings and the bare names.
  const typeable = new Set([...canonical.keys(), ...byName.keys(), ...byShortName.keys(), ...byKind.keys()]);

  function suggest(input: string): string[] {
    return suggestNames(input.trim().toLowerCase(), typeable, tryResolve);
  }

  function tryResolve(name: string): ResourceInfo | undefined {
    return candidates(name)[0];
  }

  function resolve(name: string): ResourceInfo {
    const info = tryResolve(name);
    if (!info) throw new UnknownResourceError(name, suggest(name));
    return info;
  }

  return {
    resolve,
    tryResolve,
    candidates,
    suggest,
    groupResourceOf(name: string): string {
      return name.trim() === '*' ? '*' : groupResource(resolve(name));
    },
  };
}

/** One-off convenience: the canonical `resource.group` for `name` among `resources`. */
export function resolveGroupResource(name: string, resources: readonly ResourceInfo[]): string {
  return createResourceResolver(resources).groupResourceOf(name);
}

// ---------------------------------------------------------------------------------------------
// Suggestions: names within a small edit distance of what was typed.

const MAX_SUGGESTIONS = 3;

function suggestNames(
  input: string,
  names: ReadonlySet<string>,
  resolve: (name: string) => ResourceInfo | undefined,
): string[] {
  if (input === '') return [];
  const { name } = splitName(input);
  const best = new Map<string, number>();
  const consider = (typed: string, candidate: string): void => {
    const distance = editDistance(typed, candidate);
    if (distance > Math.max(1, Math.floor(typed.length / 3))) return;
    // Suggest what the candidate name would resolve to, so a suggestion always works as typed.
    const info = resolve(candidate);
    if (!info) return;
    const key = groupResource(info);
    const previous = best.get(key);
    if (previous === undefined || distance < previous) best.set(key, distance);
  };
  for (const candidate of names) {
    consider(candidate.includes('.') ? input : name, candidate);
  }
  return [...best.entries()]
    .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, MAX_SUGGESTIONS)
    .map(([key]) => key);
}

/**
 * Edit distance counting a swap of two neighbouring letters as one edit (optimal string
 * alignment), since `pdos` for `pods` is the typical slip. Inputs are short names.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    const above = rows[i - 1] ?? [];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row[j] = best;
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}
