// Verification restores (a BackupSchedule's `verify` section), the pure part: when one is due,
// which scratch namespaces a backup's namespaces are restored into, what the backup says should
// be there, and whether what was found matches. The run itself (restore, count, clean up) is in
// verification-run.ts; the pass calls it and writes the result (status/verifications/…).
//
// The model is KubeStash's BackupVerifier: restore the latest backup somewhere harmless on a
// schedule and check it, so a backup is known to restore before anyone needs it.
import { parse as parseYaml } from 'yaml';
import { isDue, type DueDecision } from './schedule.js';

export const VERIFICATIONS_DIR = 'status/verifications';
/** Scratch namespaces carry it (value: the schedule), so a run only ever deletes its own. */
export const VERIFICATION_LABEL = 'lifeboat.dev/verification';

export function verificationStatusPath(schedule: string): string {
  return `${VERIFICATIONS_DIR}/${schedule}.yaml`;
}

/** What the last run recorded in status, as far as due-ness needs it. */
export interface VerificationMemory {
  /** The slot the last run stood for. */
  lastSlot?: string;
}

/** The last run's slot from its status file; nothing when there is none or it cannot be read. */
export function verificationMemory(text: string | undefined): VerificationMemory {
  if (text === undefined) return {};
  try {
    const doc = parseYaml(text) as { lastRun?: { slot?: unknown } } | null;
    const slot = doc?.lastRun?.slot;
    return typeof slot === 'string' && !Number.isNaN(Date.parse(slot)) ? { lastSlot: slot } : {};
  } catch {
    return {};
  }
}

/**
 * Whether a verification is due: the schedule's own rules (schedule.ts isDue) on the verify
 * cron, counted from the last run's slot. A first verification runs at once, as a new schedule's
 * first backup does; several missed slots make one run.
 */
export function isVerificationDue(input: {
  cron: string;
  timeZone?: string;
  lastSlot: Date | undefined;
  now: Date;
}): DueDecision {
  return isDue({
    schedule: { cron: input.cron, ...(input.timeZone ? { timeZone: input.timeZone } : {}) },
    lastBackupTime: input.lastSlot,
    now: input.now,
  });
}

/** The namespaced objects of a backup's resource list, by kind key ("apps/v1/Deployment"). */
export interface ExpectedObjects {
  /** kind key → namespace → object names. */
  byKind: Map<string, Map<string, string[]>>;
  namespaces: string[];
}

/**
 * Velero's resource list maps "<apiVersion>/<Kind>" to "<namespace>/<name>" (namespaced) or
 * "<name>" (cluster-scoped). Only namespaced objects are verified: the scratch restore leaves
 * cluster-scoped ones out (it must not touch the cluster). Namespaces themselves are replaced
 * by the scratch namespaces.
 */
export function expectedObjects(resourceList: Record<string, readonly string[]>): ExpectedObjects {
  const byKind = new Map<string, Map<string, string[]>>();
  const namespaces = new Set<string>();
  for (const [kind, entries] of Object.entries(resourceList)) {
    for (const entry of entries) {
      const slash = entry.indexOf('/');
      if (slash < 0) continue;
      const ns = entry.slice(0, slash);
      namespaces.add(ns);
      let perNs = byKind.get(kind);
      if (perNs === undefined) byKind.set(kind, (perNs = new Map()));
      perNs.set(ns, [...(perNs.get(ns) ?? []), entry.slice(slash + 1)]);
    }
  }
  return { byKind, namespaces: [...namespaces].sort() };
}

/** A kind of the backup left out of the comparison, and why. */
export interface SkippedKind {
  kind: string;
  objects: number;
  reason: string;
}

/**
 * The backup's objects without the kinds no restore writes (events, the node agent's work
 * items, …: backup/default-exclusions.ts), which `reasonOf` names: looking for them in the
 * scratch namespaces would fail every verification of a namespace with a pod in it.
 */
export function withoutUnrestorable(
  expected: ExpectedObjects,
  reasonOf: (kind: string) => string | undefined,
): { expected: ExpectedObjects; skipped: SkippedKind[] } {
  const byKind = new Map<string, Map<string, string[]>>();
  const skipped: SkippedKind[] = [];
  for (const [kind, perNs] of [...expected.byKind].sort(([a], [b]) => a.localeCompare(b))) {
    const reason = reasonOf(kind);
    if (reason === undefined) byKind.set(kind, perNs);
    else
      skipped.push({ kind, objects: [...perNs.values()].reduce((n, names) => n + names.length, 0), reason });
  }
  return { expected: { byKind, namespaces: expected.namespaces }, skipped };
}

/** "apps/v1/Deployment" → group "apps", kind "Deployment"; "v1/ConfigMap" → group "". */
export function splitKindKey(key: string): { group: string; version: string; kind: string } {
  const parts = key.split('/');
  const kind = parts.pop() ?? '';
  const version = parts.pop() ?? '';
  return { group: parts.join('/'), version, kind };
}

/**
 * Source namespace → scratch namespace. A name that would not fit a DNS label (63) is an
 * error naming the namespace, never a silent truncation that could make two collide.
 */
export function scratchNamespaces(
  namespaces: readonly string[],
  prefix: string,
): { mapping: Record<string, string> } | { error: string } {
  const mapping: Record<string, string> = {};
  const tooLong: string[] = [];
  for (const ns of namespaces) {
    const target = `${prefix}${ns}`;
    if (target.length > 63) tooLong.push(ns);
    mapping[ns] = target;
  }
  if (tooLong.length > 0) {
    return {
      error: `namespacePrefix "${prefix}" makes scratch names longer than 63 characters for namespace(s) ${tooLong.join(', ')}: use a shorter prefix`,
    };
  }
  return { mapping };
}

/** One kind's count: in the backup (these namespaces) and found in the scratch namespaces. */
export interface KindCount {
  kind: string;
  backup: number;
  restored: number;
}

export interface VerificationComparison {
  passed: boolean;
  kinds: KindCount[];
  /** "<Kind> <scratch ns>/<name>" of each object the backup holds that was not found (first 20). */
  missing: string[];
  missingTotal: number;
}

/** How many names the report lists; the counts say the rest. */
const MISSING_SHOWN = 20;

/**
 * Compare what the backup holds with what was found: `found(kind, scratchNamespace)` gives the
 * names present there. Every object of the backup must be present in its scratch namespace.
 */
export function compareCounts(
  expected: ExpectedObjects,
  mapping: Readonly<Record<string, string>>,
  found: (kind: string, namespace: string) => ReadonlySet<string> | undefined,
): VerificationComparison {
  const kinds: KindCount[] = [];
  const missing: string[] = [];
  for (const kind of [...expected.byKind.keys()].sort()) {
    let backup = 0;
    let restored = 0;
    for (const [ns, names] of expected.byKind.get(kind) ?? []) {
      const target = mapping[ns] ?? ns;
      const present = found(kind, target);
      backup += names.length;
      for (const name of names) {
        if (present?.has(name)) restored += 1;
        else missing.push(`${splitKindKey(kind).kind} ${target}/${name}`);
      }
    }
    kinds.push({ kind, backup, restored });
  }
  return {
    passed: missing.length === 0,
    kinds,
    missing: missing.slice(0, MISSING_SHOWN),
    missingTotal: missing.length,
  };
}
