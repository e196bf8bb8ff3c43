// Observe: everything one pass decides on, gathered with I/O — the policies on main, Restore
// documents on review branches with their committed plans, what each location holds, and
// the status the reconciler wrote before.
import { createHash } from 'node:crypto';
import type { WorkingCopy } from '../gitops/working-copy.js';
import { loadPolicyFiles, loadPolicyRepo, type PolicyFileCache } from '../policy/load.js';
import { BUILT_IN_STORAGE_LOCATION, documentsOfKind, toRestoreSpec } from '../policy/convert.js';
import type { PolicyDocument, PolicyError, RestoreDocument } from '../policy/types.js';
import { listBackups } from '../backup/catalog.js';
import type { VeleroBackup } from '../backup/velero-backup.js';
import { getRestore, RestoreNotFoundError } from '../restore/catalog.js';
import type { RestoreResult } from '../restore/engine.js';
import { canonicalJsonCompact } from '../restore/canonical-json.js';
import type { KubeClient } from '../kube/client.js';
import type { BackupStore, UnfinishedUpload } from '../storage/store.js';
import type { S3RequestObserver } from '../storage/s3-store.js';
import { backupLayout } from '../storage/layout.js';
import type { Logger } from '../observe/logger.js';
import type { StoredBackup } from './expiry.js';
import type { LocationState } from './decide.js';
import { openLocation } from './locations.js';
import { SCHEDULE_LABEL } from './naming.js';
import { readScheduleMemory } from './schedule-memory.js';
import { scheduleStatusPath, STATUS_DIR } from './status-tree.js';

export const PLANS_DIR = 'plans';
export const planPaths = (name: string) => ({
  md: `${PLANS_DIR}/${name}.md`,
  json: `${PLANS_DIR}/${name}.json`,
});

export interface ObservedLocation {
  name: string;
  readOnly: boolean;
  /** Undefined when the location could not be opened or listed this pass (see error). */
  store?: BackupStore;
  /** Backups with readable metadata; undefined when the location could not be listed. */
  backups?: VeleroBackup[];
  state: LocationState;
  error?: string;
  /** Where failures of this location's backups and restores are told (locations.ts). */
  webhook?: { name: string; url?: string; error?: string };
}

export interface ObservedRestore {
  doc: RestoreDocument;
  branch: string;
  onMain: boolean;
  specHash: string;
  plan?: { hash: string; specHash?: string };
}

export interface Observation {
  revision: string;
  documents: PolicyDocument[];
  errors: PolicyError[];
  /** Findings that leave their documents valid (insecureSkipTLSVerify, ...), shown in status. */
  warnings: PolicyError[];
  locations: ObservedLocation[];
  restores: ObservedRestore[];
  existingStatus: Map<string, string>;
  /** Commits on the policy branch that changed a policy file, newest first, with those files. */
  history: FileChange[];
}

export interface FileChange {
  sha: string;
  files: string[];
}

/**
 * The newest commit of `history` that changed any of the files asked about. The history is
 * indexed once: a pass asks for every schedule and every backup (thousands of questions), and
 * scanning the history for each was quadratic in the number of policy files.
 */
export function lastChangeLookup(
  history: readonly FileChange[],
): (files: readonly string[]) => string | undefined {
  // Each file's newest change, as its position in the history (newest first).
  const newest = new Map<string, number>();
  history.forEach((c, i) => {
    for (const f of c.files) if (!newest.has(f)) newest.set(f, i);
  });
  return (files) => {
    let best: number | undefined;
    for (const f of files) {
      const i = newest.get(f);
      if (i !== undefined && (best === undefined || i < best)) best = i;
    }
    return best === undefined ? undefined : history[best]?.sha;
  };
}

/**
 * The commits on the policy branch that changed anything but the reconciler's trees (status/,
 * plans/), newest first, with the files each changed there. The first is the policy revision:
 * the last commit that changed a person's files, along the first-parent chain, so a merged
 * review branch counts as its merge commit (what was approved), not as the side commit history
 * simplification would pick. Limited to the policy files, they say which commit last changed
 * each document (policyHistory, status-tree.ts observedRevision). One `git log` for both,
 * instead of one each (a Git process costs a pass ~15 ms of CPU).
 */
async function policyLog(wc: WorkingCopy): Promise<FileChange[]> {
  const out = await wc.log([
    '--first-parent',
    '--format=%x1e%H',
    '--name-only',
    `origin/${wc.branch}`,
    '--',
    '.',
    `:!${STATUS_DIR}`,
    `:!${PLANS_DIR}`,
  ]);
  return parseFileChanges(out);
}

/** The commits of `log` that changed any of `files`, each with those of its files only. */
export function policyHistory(log: readonly FileChange[], files: readonly string[]): FileChange[] {
  const wanted = new Set(files);
  return log
    .map((c) => ({ sha: c.sha, files: c.files.filter((f) => wanted.has(f)) }))
    .filter((c) => c.files.length > 0);
}

/** `git log --format=%x1e%H --name-only` output: one record per commit. */
function parseFileChanges(out: string): FileChange[] {
  return out
    .split('\x1e')
    .map((chunk) =>
      chunk
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== ''),
    )
    .filter((lines) => lines.length > 0)
    .map(([sha = '', ...changed]) => ({ sha, files: changed }));
}

export function specHashOf(doc: RestoreDocument): string {
  return createHash('sha256')
    .update(canonicalJsonCompact(toRestoreSpec(doc)))
    .digest('hex');
}

export async function observe(deps: {
  wc: WorkingCopy;
  kube: () => Promise<KubeClient>;
  log: Logger;
  localRoot: string;
  env?: NodeJS.ProcessEnv;
  restoreBranches: string;
  allowLinkLocalEndpoints?: boolean;
  storageRequests?: S3RequestObserver;
  policyCache?: PolicyFileCache;
}): Promise<Observation> {
  const { wc } = deps;
  const rules = { allowLinkLocalEndpoints: deps.allowLinkLocalEndpoints === true };
  const loaded = await loadPolicyRepo({
    dir: wc.dir,
    rules,
    ...(deps.policyCache ? { cache: deps.policyCache } : {}),
  });
  const log = await policyLog(wc);
  const revision = log[0]?.sha ?? '';
  const locations = await observeLocations({ ...deps, documents: loaded.documents });
  const restores = await observeRestores({
    wc,
    documents: loaded.documents,
    pattern: deps.restoreBranches,
    log: deps.log,
  });
  const existingStatus = await readStatusTree(wc);
  const history = policyHistory(log, [
    ...loaded.documents.map((d) => d.source.file),
    ...loaded.errors.map((e) => e.file),
  ]);
  return {
    history,
    revision,
    documents: loaded.documents,
    errors: [...loaded.errors, ...restores.errors],
    warnings: loaded.warnings,
    locations,
    restores: restores.found,
    existingStatus,
  };
}

async function observeLocations(deps: {
  documents: PolicyDocument[];
  kube: () => Promise<KubeClient>;
  localRoot: string;
  env?: NodeJS.ProcessEnv;
  log: Logger;
  allowLinkLocalEndpoints?: boolean;
  storageRequests?: S3RequestObserver;
}): Promise<ObservedLocation[]> {
  const docs = documentsOfKind(deps.documents, 'StorageLocation');
  const specs = docs.map((d) => ({ name: d.metadata.name, spec: d.spec }));
  if (!specs.some((s) => s.name === BUILT_IN_STORAGE_LOCATION.name))
    specs.push({ ...BUILT_IN_STORAGE_LOCATION });
  const out: ObservedLocation[] = [];
  for (const { name, spec } of specs) {
    const readOnly = spec.accessMode === 'ReadOnly';
    try {
      const loc = await openLocation(name, spec, {
        kube: deps.kube,
        localRoot: deps.localRoot,
        ...(deps.env ? { env: deps.env } : {}),
        allowLinkLocalEndpoints: deps.allowLinkLocalEndpoints === true,
        ...(deps.storageRequests ? { storageRequests: deps.storageRequests } : {}),
      });
      const entries = await listBackups(loc.store);
      const backups = entries.flatMap((e) => (e.backup ? [e.backup] : []));
      const stored = await Promise.all(entries.map((e) => toStored(loc.store, e)));
      const uploads = await listUploads(loc.store, { location: name, log: deps.log });
      out.push({
        ...loc,
        backups,
        state: {
          name,
          readOnly,
          backups: stored,
          ...(uploads ? { uploads } : {}),
          ...(loc.store.objectLock ? { objectLock: true } : {}),
        },
      });
    } catch (err) {
      // The bucket is unreachable this pass: nothing is decided from it (no expiry, no
      // backups there), and the status says why; every other location keeps working.
      const message = err instanceof Error ? err.message : String(err);
      deps.log.warn({ location: name, err: message }, 'cannot list storage location');
      out.push({
        name,
        readOnly,
        error: message,
        state: { name, readOnly, backups: undefined },
      });
    }
  }
  return out;
}

/**
 * The location's unfinished uploads; undefined (and a warning) when the server cannot list
 * them, which only means none are cleaned up this pass.
 */
async function listUploads(
  store: BackupStore,
  deps: { location: string; log: Logger },
): Promise<UnfinishedUpload[] | undefined> {
  try {
    const uploads: UnfinishedUpload[] = [];
    for await (const u of store.listUnfinishedUploads('')) uploads.push(u);
    return uploads;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    deps.log.warn({ location: deps.location, err: message }, 'cannot list unfinished uploads');
    return undefined;
  }
}

async function toStored(
  store: BackupStore,
  e: { name: string; backup?: VeleroBackup; unreadable?: string },
): Promise<StoredBackup> {
  const b = e.backup;
  if (!b) {
    // No readable metadata: an interrupted upload (dated by its newest object, for the grace
    // period) or unreadable metadata, which expiry never touches.
    let lastModified: Date | undefined;
    for await (const o of store.list(backupLayout.dir(e.name))) {
      if (o.lastModified && (!lastModified || o.lastModified > lastModified)) lastModified = o.lastModified;
    }
    return { name: e.name, readable: e.unreadable === undefined, ...(lastModified ? { lastModified } : {}) };
  }
  const schedule = b.metadata.labels?.[SCHEDULE_LABEL];
  return {
    name: e.name,
    readable: true,
    phase: b.status.phase,
    ...(schedule ? { schedule } : {}),
    ...(b.status.startTimestamp ? { startTime: new Date(b.status.startTimestamp) } : {}),
    ...(b.status.expiration ? { expiration: new Date(b.status.expiration) } : {}),
  };
}

async function observeRestores(deps: {
  wc: WorkingCopy;
  documents: PolicyDocument[];
  pattern: string;
  log: Logger;
}): Promise<{ found: ObservedRestore[]; errors: PolicyError[] }> {
  const { wc } = deps;
  const found: ObservedRestore[] = [];
  const errors: PolicyError[] = [];
  const onMain = new Set<string>();
  for (const doc of documentsOfKind(deps.documents, 'Restore')) {
    onMain.add(doc.metadata.name);
    found.push({
      doc,
      branch: wc.branch,
      onMain: true,
      specHash: specHashOf(doc),
      ...(await readPlan(wc, doc.metadata.name)),
    });
  }
  for (const branch of await wc.remoteBranches(deps.pattern)) {
    const files = (await wc.listFiles('', { branch: branch.name })).filter(
      (f) =>
        /\.ya?ml$/.test(f) &&
        !/^(status|plans|schema|examples)\//.test(f) &&
        !f.split('/').some((p) => p.startsWith('.')),
    );
    const sources = await Promise.all(
      files.map(async (file) => ({ file, text: (await wc.readFile(file, { branch: branch.name })) ?? '' })),
    );
    const loaded = loadPolicyFiles(sources);
    for (const e of loaded.errors) {
      // Only errors of Restore documents new on this branch concern the review; the rest is main's.
      if (e.document?.kind === 'Restore' && !onMain.has(e.document.name))
        errors.push({ ...e, file: `${branch.name}:${e.file}` });
    }
    for (const doc of documentsOfKind(loaded.documents, 'Restore')) {
      if (onMain.has(doc.metadata.name)) continue; // merged: main's copy is the one that counts
      found.push({
        doc,
        branch: branch.name,
        onMain: false,
        specHash: specHashOf(doc),
        ...(await readPlan(wc, doc.metadata.name, branch.name)),
      });
    }
  }
  return { found, errors };
}

async function readPlan(
  wc: WorkingCopy,
  name: string,
  branch?: string,
): Promise<{ plan?: { hash: string; specHash?: string } }> {
  const text = await wc.readFile(planPaths(name).json, branch ? { branch } : {});
  if (!text) return {};
  try {
    const p = JSON.parse(text) as { hash?: unknown; specHash?: unknown };
    if (typeof p.hash !== 'string') return {};
    return { plan: { hash: p.hash, ...(typeof p.specHash === 'string' ? { specHash: p.specHash } : {}) } };
  } catch {
    return {};
  }
}

async function readStatusTree(wc: WorkingCopy): Promise<Map<string, string>> {
  const branch = wc.statusBranch;
  // Branch names cannot hold glob characters (checkBranchName), so this matches it alone.
  const exists = (await wc.remoteBranches(branch)).some((b) => b.name === branch);
  if (!exists) return new Map(); // the status branch does not exist yet
  return wc.readFiles(`${STATUS_DIR}/`, { branch });
}

/** From the previous status: when each schedule was first seen and its last slot. */
export function scheduleMemory(
  existing: Map<string, string>,
  name: string,
): { firstSeen?: string; lastSlot?: string } {
  const text = existing.get(scheduleStatusPath(name));
  return text ? readScheduleMemory(text) : {};
}

/** The restore's record in the result location (applied, or claimed by a reconciler), if any. */
export async function restoreRecord(
  loc: ObservedLocation | undefined,
  name: string,
): Promise<RestoreResult | undefined> {
  if (!loc?.store) return undefined;
  try {
    return await getRestore(loc.store, name);
  } catch (err) {
    if (err instanceof RestoreNotFoundError) return undefined;
    throw err;
  }
}
