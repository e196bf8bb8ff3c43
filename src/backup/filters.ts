// Which namespaces, resource types and objects a backup (or restore) spec selects.
//
// Semantics are Velero's, from vmware-tanzu/velero pkg/util/collections/includes_excludes.go:
//   - IncludesExcludes.ShouldInclude: an excluded name is never included; an empty include list
//     means everything; '*' means everything; names may be glob patterns.
//   - GlobalIncludesExcludes (the old fields includedResources / excludedResources /
//     includeClusterResources) and ScopeIncludesExcludes (the newer cluster- and namespace-scoped
//     fields), chosen by UseOldResourceFilters; mixing the two sets is rejected (the
//     "Resource filtering" docs: "Cannot work with ...").
//   - ShouldExclude, which decides whether a cluster-scoped object pulled in by another object
//     (a PV bound to a PVC, a ClusterRoleBinding of a ServiceAccount, a CRD) may be backed up.
// Validation follows ValidateIncludesExcludes / ValidateScopedIncludesExcludes /
// ValidateNamespaceIncludesExcludes, and the backup controller's selector rule.
import { groupResource, type KubeObject, type ResourceInfo } from '../kube/types.js';
import { compileLinear, type LinearPattern } from '../util/linear-regex.js';
import { hasExcludeLabel, NON_RESTORABLE_RESOURCES, nonRestorableReason } from './default-exclusions.js';
import {
  formatLabelSelector,
  matchesSelectorChoice,
  selectorChoiceProblem,
  validateLabelSelector,
  type SelectorChoice,
} from './label-selector.js';
import { createResourceResolver, UnknownResourceError, type ResourceResolver } from './resource-resolver.js';
import type { LabelSelector, ResourceFilterSpec } from './spec.js';

export type FilterPurpose = 'backup' | 'restore';

export interface FilterIssue {
  /** Path of the offending field, e.g. `excludedResources[2]`. */
  field: string;
  message: string;
}

/** A spec whose filters are invalid. `issues` lists every problem found, not just the first. */
export class FilterError extends Error {
  readonly field: string;
  constructor(readonly issues: FilterIssue[]) {
    super(issues.map((issue) => `${issue.field}: ${issue.message}`).join('; '));
    this.name = 'FilterError';
    this.field = issues[0]?.field ?? '';
  }
}

/** What the filter needs to know about a resource type. */
export type ResourceScope = Pick<ResourceInfo, 'group' | 'resource' | 'namespaced'>;

export interface ResourceFilter {
  readonly purpose: FilterPurpose;
  /** Whether objects in `namespace` are selected (excludes win; no includes means all). */
  includesNamespace(namespace: string): boolean;
  /** Whether every object of this type is listed (Velero's ShouldInclude at collection time). */
  includesResource(resource: ResourceScope): boolean;
  /**
   * Whether this type is ruled out even for objects pulled in by other objects (Velero's
   * ShouldExclude). For cluster-scoped types under "auto" this is true unless the resource
   * filter would include the type.
   */
  excludesResource(resource: ResourceScope): boolean;
  /**
   * Whether a listed object is selected: its namespace (if namespaced) and the label
   * selectors; for backups also not labelled velero.io/exclude-from-backup=true and not
   * being deleted. The caller has already checked the object's type with includesResource.
   */
  includesObject(obj: KubeObject): boolean;
  /** Whether an object pulled in by another (PV of a PVC, ...) may be included. */
  includesDependency(obj: KubeObject, resource: ResourceScope): boolean;
  /**
   * Velero's decision for a Namespace object (pkg/backup/item_collector.go nsTracker): kept
   * when it holds included objects, when its labels match the selectors, or — unless all
   * namespaces are included and a selector is set — when its name passes the namespace filter.
   */
  includesNamespaceObject(namespace: KubeObject, context: { hasIncludedItems: boolean }): boolean;
  /**
   * The namespaces to list one by one, or undefined to list across all namespaces and filter
   * with includesNamespace (Velero getNamespacesToList; patterns force a cluster-wide list).
   */
  listNamespaces(): string[] | undefined;
  /** Label selector strings to pass to list calls; Velero lists once per or-selector. */
  listSelectors(): string[];
  /** Whether cluster-scoped resources are included under "auto" (see isFullClusterBackup). */
  readonly isFullCluster: boolean;
  /** Human-readable filter summary for logs, in Velero's style ('*' / '<none>'). */
  describe(): Record<string, string>;
}

export interface CompileFilterOptions {
  /**
   * 'restore' applies Velero's restore rules: the scoped resource fields are backup-only,
   * non-restorable resources are always excluded and may not be included, and objects are
   * not checked for the backup-only exclude label or deletion.
   */
  purpose?: FilterPurpose;
}

const NAMESPACES: ResourceScope = { group: '', resource: 'namespaces', namespaced: false };

// ---------------------------------------------------------------------------------------------
// Name patterns: Velero's namespace globs (docs: "Namespace Glob Patterns"): `*`, `?`, `[abc]`,
// `[a-z]`; rejected: `**`, `|`, `()`, `!`, `{}`, `,`, empty or unclosed brackets. Velero matches
// resource lists with the same glob library, so resource names may be patterns too.

export type PatternKind = 'namespace' | 'resource';

const LITERAL_CHARS: Record<PatternKind, RegExp> = { namespace: /^[a-z0-9-]$/, resource: /^[a-z0-9.-]$/ };
const UNSUPPORTED = new Set(['|', '(', ')', '!', '{', '}', ',']);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isPattern(name: string): boolean {
  return name !== '*' && /[*?[]/.test(name);
}

/** A compiled glob, or the reason the pattern is invalid. */
export function compileNamePattern(pattern: string, kind: PatternKind): LinearPattern | string {
  if (pattern.includes('**')) return 'consecutive asterisks (**) are not supported';
  let source = '';
  let sample = ''; // the pattern with each wildcard replaced by a letter, to check the name rules
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern.charAt(i);
    if (ch === '*' || ch === '?') {
      source += ch === '*' ? '.*' : '.';
      sample += 'x';
    } else if (ch === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close < 0) return "unclosed '['";
      const body = pattern.slice(i + 1, close);
      const problem = bracketProblem(body, kind);
      if (problem) return problem;
      source += `[${body}]`;
      sample += 'x';
      i = close;
    } else if (ch === ']') {
      return "unmatched ']'";
    } else if (UNSUPPORTED.has(ch)) {
      return `'${ch}' is not supported (patterns may use *, ?, [abc] and [a-z])`;
    } else if (!LITERAL_CHARS[kind].test(ch)) {
      return `character ${JSON.stringify(ch)} cannot appear in a ${kind} name`;
    } else {
      source += ch === '.' ? '\\.' : ch;
      sample += ch;
    }
  }
  if (kind === 'namespace' && pattern !== '' && (sample.length > 63 || !DNS_LABEL.test(sample))) {
    return 'a namespace name must be a DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters';
  }
  return compileLinear(`^${source}$`, { dotAll: true });
}

function bracketProblem(body: string, kind: PatternKind): string | undefined {
  if (body === '') return 'empty brackets [] match nothing';
  for (let i = 0; i < body.length; i++) {
    const ch = body.charAt(i);
    if (UNSUPPORTED.has(ch)) return `'${ch}' is not supported inside brackets`;
    if (ch !== '-' && !LITERAL_CHARS[kind].test(ch))
      return `character ${JSON.stringify(ch)} cannot appear in brackets`;
    const hi = body.charAt(i + 2);
    if (body.charAt(i + 1) === '-' && hi !== '' && ch !== '-') {
      if (ch > hi) return `range ${ch}-${hi} is reversed`;
      i += 2;
    }
  }
  return undefined;
}

/** A set of names: '*' (everything), literal names and compiled globs. */
class NameSet {
  private readonly literals = new Set<string>();
  private readonly globs: { text: string; regex: LinearPattern }[] = [];
  private wildcard = false;

  add(name: string, regex?: LinearPattern): void {
    if (name === '*') this.wildcard = true;
    else if (regex) this.globs.push({ text: name, regex });
    else this.literals.add(name);
  }

  get isEmpty(): boolean {
    return !this.wildcard && this.literals.size === 0 && this.globs.length === 0;
  }

  get hasWildcard(): boolean {
    return this.wildcard;
  }

  get hasPatterns(): boolean {
    return this.globs.length > 0;
  }

  get literalNames(): string[] {
    return [...this.literals].sort();
  }

  matches(name: string): boolean {
    return this.wildcard || this.literals.has(name) || this.globs.some((glob) => glob.regex.test(name));
  }

  list(): string[] {
    return [...(this.wildcard ? ['*'] : []), ...this.literals, ...this.globs.map((glob) => glob.text)].sort();
  }
}

/** Velero's IncludesExcludes: includes and excludes over names. */
class IncludesExcludes {
  readonly includes = new NameSet();
  readonly excludes = new NameSet();

  shouldInclude(name: string): boolean {
    if (this.excludes.matches(name)) return false;
    return this.includes.isEmpty || this.includes.matches(name);
  }

  /** IncludeEverything: no excludes, and no includes or only '*'. */
  includesEverything(): boolean {
    return (
      this.excludes.isEmpty &&
      (this.includes.isEmpty || (this.includes.hasWildcard && this.includes.list().length === 1))
    );
  }

  describe(): { includes: string; excludes: string } {
    const includes = this.includes.list();
    const excludes = this.excludes.list();
    return {
      includes: includes.length > 0 ? includes.join(', ') : '*',
      excludes: excludes.length > 0 ? excludes.join(', ') : '<none>',
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the spec. Specs come from YAML, so every field is checked before use.

const OLD_RESOURCE_FIELDS = ['includedResources', 'excludedResources'] as const;
const SCOPED_FIELDS = [
  'includedClusterScopedResources',
  'excludedClusterScopedResources',
  'includedNamespaceScopedResources',
  'excludedNamespaceScopedResources',
] as const;

type ListField =
  | 'includedNamespaces'
  | 'excludedNamespaces'
  | (typeof OLD_RESOURCE_FIELDS)[number]
  | (typeof SCOPED_FIELDS)[number];

class SpecReader {
  readonly issues: FilterIssue[] = [];
  constructor(readonly spec: ResourceFilterSpec) {}

  issue(field: string, message: string): void {
    this.issues.push({ field, message });
  }

  list(field: ListField): ListItem[] {
    const value: unknown = this.spec[field];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.issue(field, 'must be a list of names');
      return [];
    }
    const items: ListItem[] = [];
    value.forEach((item: unknown, index) => {
      if (typeof item === 'string') items.push({ index, value: item.trim() });
      else this.issue(`${field}[${index}]`, 'must be a string');
    });
    return items;
  }

  isSet(field: ListField): boolean {
    const value: unknown = this.spec[field];
    return Array.isArray(value) && value.length > 0;
  }

  includeClusterResources(): boolean | undefined {
    const value: unknown = this.spec.includeClusterResources;
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') {
      this.issue('includeClusterResources', 'must be true, false or unset (auto)');
      return undefined;
    }
    return value;
  }
}

/** Velero UseOldResourceFilters: any old field set, or no resource field set at all. */
function usesOldFilters(spec: ResourceFilterSpec): boolean {
  const newSet = SCOPED_FIELDS.some((field) => (spec[field]?.length ?? 0) > 0);
  const oldSet =
    (spec.includeClusterResources !== undefined && spec.includeClusterResources !== null) ||
    OLD_RESOURCE_FIELDS.some((field) => (spec[field]?.length ?? 0) > 0);
  return oldSet || !newSet;
}

function specSetIncludesEverything(
  includes: readonly string[] | undefined,
  excludes: readonly string[] | undefined,
): boolean {
  const set = new Set(includes ?? []);
  return (excludes?.length ?? 0) === 0 && (set.size === 0 || (set.size === 1 && set.has('*')));
}

/**
 * Whether the spec backs up the whole cluster, so cluster-scoped resources are included under
 * "auto" (includeClusterResources unset): no namespace restriction, and — with the scoped
 * fields — no restriction on namespace-scoped types either (includes_excludes.go).
 */
export function isFullClusterBackup(spec: ResourceFilterSpec): boolean {
  const allNamespaces = specSetIncludesEverything(spec.includedNamespaces, spec.excludedNamespaces);
  if (usesOldFilters(spec)) return allNamespaces;
  return (
    allNamespaces &&
    specSetIncludesEverything(spec.includedNamespaceScopedResources, spec.excludedNamespaceScopedResources)
  );
}

interface ListRules {
  /** The list may hold '*' only together with nothing else. */
  includeField: ListField;
  excludeField: ListField;
  /** Velero's old lists and namespaces reject '*' in excludes; the scoped lists allow it alone. */
  excludeWildcard: 'forbidden' | 'alone';
}

interface ListItem {
  index: number;
  value: string;
}

interface ListPair {
  rules: ListRules;
  includes: ListItem[];
  excludes: ListItem[];
  /** The canonical form two entries are compared by (undefined: unresolvable, skip). */
  key: (value: string) => string | undefined;
}

/** ValidateIncludesExcludes / ValidateScopedIncludesExcludes for one include/exclude pair. */
function checkPair(reader: SpecReader, pair: ListPair): void {
  const { rules } = pair;
  const includes = pair.includes.map((item) => item.value);
  const excludes = pair.excludes.map((item) => item.value);
  if (includes.includes('*') && new Set(includes).size > 1) {
    reader.issue(rules.includeField, "must be ['*'] alone or a list of names without '*'");
  }
  if (rules.excludeWildcard === 'forbidden') {
    const index = excludes.indexOf('*');
    if (index >= 0) reader.issue(`${rules.excludeField}[${index}]`, "'*' cannot be excluded");
  } else if (excludes.includes('*')) {
    if (new Set(excludes).size > 1) {
      reader.issue(rules.excludeField, "must be ['*'] alone or a list of names without '*'");
    }
    if (includes.length > 0)
      reader.issue(rules.includeField, `must be empty when ${rules.excludeField} is '*'`);
  }
  const included = new Set(
    pair.includes.map((item) => pair.key(item.value)).filter((key) => key !== undefined),
  );
  for (const { index, value } of pair.excludes) {
    const key = pair.key(value);
    if (value !== '*' && key !== undefined && included.has(key)) {
      reader.issue(
        `${rules.excludeField}[${index}]`,
        `${JSON.stringify(key)} is also in ${rules.includeField}`,
      );
    }
  }
}

function compileNamespaces(reader: SpecReader): IncludesExcludes {
  const filter = new IncludesExcludes();
  const includes = reader.list('includedNamespaces');
  const excludes = reader.list('excludedNamespaces');
  const rules: ListRules = {
    includeField: 'includedNamespaces',
    excludeField: 'excludedNamespaces',
    excludeWildcard: 'forbidden',
  };
  checkPair(reader, { rules, includes, excludes, key: (value) => value });
  const addAll = (items: typeof includes, field: ListField, target: NameSet): void => {
    for (const { index, value } of items) {
      if (value === '*') {
        target.add(value);
        continue;
      }
      const compiled = compileNamePattern(value, 'namespace');
      if (typeof compiled === 'string')
        reader.issue(`${field}[${index}]`, `invalid namespace ${JSON.stringify(value)}: ${compiled}`);
      else target.add(value, isPattern(value) ? compiled : undefined);
    }
  };
  addAll(includes, 'includedNamespaces', filter.includes);
  addAll(excludes, 'excludedNamespaces', filter.excludes);
  return filter;
}

interface ResourceListContext {
  reader: SpecReader;
  resolver: ResourceResolver;
  purpose: FilterPurpose;
  /** For the scoped fields: the scope every listed resource must have. */
  scope?: 'cluster' | 'namespaced';
}

/** The canonical key of a resource list entry: '*', a glob pattern, or `resource.group`. */
function resourceKey(value: string, resolver: ResourceResolver): string | undefined {
  if (value === '*' || isPattern(value)) return value.toLowerCase();
  const info = resolver.tryResolve(value);
  return info ? groupResource(info) : undefined;
}

function compileResourceList(
  ctx: ResourceListContext,
  field: ListField,
  target: NameSet,
  role: 'include' | 'exclude',
): ListItem[] {
  const items = ctx.reader.list(field);
  for (const { index, value } of items) {
    const at = `${field}[${index}]`;
    if (value === '*') {
      target.add('*');
    } else if (isPattern(value)) {
      const compiled = compileNamePattern(value.toLowerCase(), 'resource');
      if (typeof compiled === 'string')
        ctx.reader.issue(at, `invalid resource pattern ${JSON.stringify(value)}: ${compiled}`);
      else target.add(value.toLowerCase(), compiled);
    } else {
      const key = resolveListedResource(ctx, at, value, role);
      if (key !== undefined) target.add(key);
    }
  }
  return items;
}

function resolveListedResource(
  ctx: ResourceListContext,
  at: string,
  value: string,
  role: 'include' | 'exclude',
): string | undefined {
  let info: ResourceInfo;
  try {
    info = ctx.resolver.resolve(value);
  } catch (error) {
    if (error instanceof UnknownResourceError) {
      ctx.reader.issue(at, error.message);
      return undefined;
    }
    throw error;
  }
  const key = groupResource(info);
  // Velero silently drops a resource listed under the wrong scope; we say so instead.
  if (ctx.scope === 'cluster' && info.namespaced) {
    ctx.reader.issue(
      at,
      `${JSON.stringify(key)} is namespace-scoped; list it in the namespace-scoped fields`,
    );
  } else if (ctx.scope === 'namespaced' && !info.namespaced) {
    ctx.reader.issue(at, `${JSON.stringify(key)} is cluster-scoped; list it in the cluster-scoped fields`);
  }
  const reason = nonRestorableReason(key);
  if (ctx.purpose === 'restore' && role === 'include' && reason) {
    ctx.reader.issue(at, `${JSON.stringify(key)} is never restored: ${reason}`);
  }
  return key;
}

function compileResourcePair(ctx: ResourceListContext, rules: ListRules, filter: IncludesExcludes): void {
  const includes = compileResourceList(ctx, rules.includeField, filter.includes, 'include');
  const excludes = compileResourceList(ctx, rules.excludeField, filter.excludes, 'exclude');
  checkPair(ctx.reader, { rules, includes, excludes, key: (value) => resourceKey(value, ctx.resolver) });
}

type ResourceMode =
  | { kind: 'global'; resources: IncludesExcludes; includeClusterResources: boolean | undefined }
  | { kind: 'scoped'; namespaced: IncludesExcludes; cluster: IncludesExcludes };

function compileResourceMode(
  reader: SpecReader,
  resolver: ResourceResolver,
  purpose: FilterPurpose,
): ResourceMode {
  const scopedSet = SCOPED_FIELDS.filter((field) => reader.isSet(field));
  const includeClusterResources = reader.includeClusterResources();
  if (purpose === 'restore') {
    for (const field of scopedSet) {
      reader.issue(
        field,
        'is a backup-only filter (Velero); restores use includedResources and excludedResources',
      );
    }
  } else if (!usesOldFilters(reader.spec) || scopedSet.length === 0) {
    // Either only the scoped fields, or only the old ones: fine.
  } else {
    reader.issue(
      scopedSet[0] ?? SCOPED_FIELDS[0],
      'cannot be combined with includedResources, excludedResources or includeClusterResources; use one set of resource filters',
    );
  }

  if (purpose === 'backup' && !usesOldFilters(reader.spec)) {
    const namespaced = new IncludesExcludes();
    const cluster = new IncludesExcludes();
    const rules = (prefix: 'Namespace' | 'Cluster'): ListRules => ({
      includeField: `included${prefix}ScopedResources`,
      excludeField: `excluded${prefix}ScopedResources`,
      excludeWildcard: 'alone',
    });
    compileResourcePair({ reader, resolver, purpose, scope: 'namespaced' }, rules('Namespace'), namespaced);
    compileResourcePair({ reader, resolver, purpose, scope: 'cluster' }, rules('Cluster'), cluster);
    return { kind: 'scoped', namespaced, cluster };
  }

  const resources = new IncludesExcludes();
  compileResourcePair(
    { reader, resolver, purpose },
    { includeField: 'includedResources', excludeField: 'excludedResources', excludeWildcard: 'forbidden' },
    resources,
  );
  if (purpose === 'restore') {
    // restore_controller.go: non-restorable resources are appended to excludedResources.
    for (const entry of NON_RESTORABLE_RESOURCES) resources.excludes.add(entry.groupResource);
  }
  return { kind: 'global', resources, includeClusterResources };
}

function compileSelectors(reader: SpecReader): SelectorChoice {
  const { labelSelector, orLabelSelectors } = reader.spec as {
    labelSelector?: unknown;
    orLabelSelectors?: unknown;
  };
  const choice: SelectorChoice = {};
  if (labelSelector !== undefined && labelSelector !== null) {
    const issues = validateLabelSelector(labelSelector, 'labelSelector');
    reader.issues.push(...issues);
    if (issues.length === 0) choice.labelSelector = labelSelector; // validated above
  }
  if (orLabelSelectors !== undefined && orLabelSelectors !== null) {
    if (!Array.isArray(orLabelSelectors)) {
      reader.issue('orLabelSelectors', 'must be a list of label selectors');
    } else {
      const issues = orLabelSelectors.flatMap((selector: unknown, index) =>
        validateLabelSelector(selector, `orLabelSelectors[${index}]`),
      );
      reader.issues.push(...issues);
      if (issues.length === 0) choice.orLabelSelectors = orLabelSelectors as LabelSelector[];
    }
  }
  const problem = selectorChoiceProblem({
    labelSelector: labelSelector ?? undefined,
    orLabelSelectors: Array.isArray(orLabelSelectors) ? orLabelSelectors : undefined,
  });
  if (problem) reader.issue('orLabelSelectors', problem);
  return choice;
}

// ---------------------------------------------------------------------------------------------
// The compiled filter

/**
 * Validate `spec` against the discovered `resources` and compile it. Throws a FilterError
 * listing every invalid field. For restores, pass the resources of the target cluster plus
 * any found only in the archive (custom resources whose CRD the restore will create).
 */
export function compileFilter(
  spec: ResourceFilterSpec,
  resources: readonly ResourceInfo[],
  options: CompileFilterOptions = {},
): ResourceFilter {
  const purpose = options.purpose ?? 'backup';
  const reader = new SpecReader(spec);
  const resolver = createResourceResolver(resources);
  const namespaces = compileNamespaces(reader);
  const mode = compileResourceMode(reader, resolver, purpose);
  const selectors = compileSelectors(reader);
  if (reader.issues.length > 0) throw new FilterError(reader.issues);
  return new CompiledFilter({ purpose, namespaces, mode, selectors });
}

interface CompiledParts {
  purpose: FilterPurpose;
  namespaces: IncludesExcludes;
  mode: ResourceMode;
  selectors: SelectorChoice;
}

class CompiledFilter implements ResourceFilter {
  readonly purpose: FilterPurpose;
  readonly isFullCluster: boolean;
  private readonly namespaces: IncludesExcludes;
  private readonly mode: ResourceMode;
  private readonly selectors: SelectorChoice;

  constructor(parts: CompiledParts) {
    this.purpose = parts.purpose;
    this.namespaces = parts.namespaces;
    this.mode = parts.mode;
    this.selectors = parts.selectors;
    this.isFullCluster =
      this.namespaces.includesEverything() &&
      (this.mode.kind === 'global' || this.mode.namespaced.includesEverything());
  }

  includesNamespace(namespace: string): boolean {
    return this.namespaces.shouldInclude(namespace);
  }

  includesResource(resource: ResourceScope): boolean {
    const key = groupResource(resource);
    const mode = this.mode;
    if (mode.kind === 'global') {
      if (!resource.namespaced && mode.includeClusterResources === false) return false;
      // "auto": cluster-scoped types are listed only in a full-cluster backup. Namespaces are
      // the exception: they are listed, and includesNamespaceObject decides per object.
      if (
        !resource.namespaced &&
        mode.includeClusterResources === undefined &&
        key !== groupResource(NAMESPACES) &&
        !this.isFullCluster
      ) {
        return false;
      }
      return mode.resources.shouldInclude(key);
    }
    if (resource.namespaced) return mode.namespaced.shouldInclude(key);
    if (mode.cluster.excludes.matches(key)) return false;
    // Neither cluster list set: cluster-scoped types follow the full-cluster rule.
    if (mode.cluster.includes.isEmpty && mode.cluster.excludes.isEmpty && this.isFullCluster) return true;
    return mode.cluster.includes.matches(key) || key === groupResource(NAMESPACES);
  }

  excludesResource(resource: ResourceScope): boolean {
    const key = groupResource(resource);
    const mode = this.mode;
    if (mode.kind === 'scoped') {
      return resource.namespaced ? mode.namespaced.excludes.matches(key) : mode.cluster.excludes.matches(key);
    }
    if (mode.resources.excludes.matches(key)) return true;
    if (resource.namespaced) return false;
    if (mode.includeClusterResources === false) return true;
    return mode.includeClusterResources === undefined && !mode.resources.shouldInclude(key);
  }

  includesObject(obj: KubeObject): boolean {
    if (!this.passesObjectChecks(obj)) return false;
    return matchesSelectorChoice(obj.metadata.labels, this.selectors);
  }

  includesDependency(obj: KubeObject, resource: ResourceScope): boolean {
    // Velero applies no label selector to items added by actions, only the exclusion checks
    // (item_backupper.go backupItem / itemInclusionChecks).
    return !this.excludesResource(resource) && this.passesObjectChecks(obj);
  }

  includesNamespaceObject(namespace: KubeObject, context: { hasIncludedItems: boolean }): boolean {
    if (!this.includesResource(NAMESPACES)) return false;
    // Like every item (item_backupper.go): not when labelled to be excluded, nor when it is
    // already being deleted — its remaining objects are still backed up, the Namespace is not.
    if (this.purpose === 'backup' && (hasExcludeLabel(namespace) || namespace.metadata.deletionTimestamp))
      return false;
    if (context.hasIncludedItems) return true;
    // nsTracker.init skips namespaces that are not Active; a Namespace read from the API always
    // has a phase, so only an explicit Terminating phase is skipped here.
    const phase = (namespace as { status?: { phase?: unknown } }).status?.phase;
    if (phase === 'Terminating') return false;
    const hasSelector =
      this.selectors.labelSelector !== undefined || (this.selectors.orLabelSelectors?.length ?? 0) > 0;
    if (hasSelector && matchesSelectorChoice(namespace.metadata.labels, this.selectors)) return true;
    // velero#7105: with all namespaces included and a selector set, only matching namespaces count.
    if (hasSelector && this.namespaces.includesEverything()) return false;
    return this.includesNamespace(namespace.metadata.name ?? '');
  }

  listNamespaces(): string[] | undefined {
    const includes = this.namespaces.includes;
    if (includes.isEmpty || includes.hasWildcard || includes.hasPatterns) return undefined;
    return includes.literalNames.filter((name) => this.includesNamespace(name));
  }

  listSelectors(): string[] {
    const or = this.selectors.orLabelSelectors ?? [];
    if (or.length > 0) return or.map(formatLabelSelector);
    return [this.selectors.labelSelector ? formatLabelSelector(this.selectors.labelSelector) : ''];
  }

  describe(): Record<string, string> {
    const ns = this.namespaces.describe();
    const summary: Record<string, string> = {
      includedNamespaces: ns.includes,
      excludedNamespaces: ns.excludes,
    };
    if (this.mode.kind === 'global') {
      const resources = this.mode.resources.describe();
      summary.includedResources = resources.includes;
      summary.excludedResources = resources.excludes;
      summary.includeClusterResources = String(this.mode.includeClusterResources ?? 'auto');
    } else {
      const namespaced = this.mode.namespaced.describe();
      const cluster = this.mode.cluster.describe();
      summary.includedNamespaceScopedResources = namespaced.includes;
      summary.excludedNamespaceScopedResources = namespaced.excludes;
      summary.includedClusterScopedResources = this.mode.cluster.includes.isEmpty
        ? '<none>'
        : cluster.includes;
      summary.excludedClusterScopedResources = cluster.excludes;
    }
    summary.labelSelectors =
      this.listSelectors()
        .filter((s) => s !== '')
        .join(' or ') || '<none>';
    return summary;
  }

  /** Namespace filter plus, for backups, the per-object exclusions Velero applies. */
  private passesObjectChecks(obj: KubeObject): boolean {
    const namespace = obj.metadata.namespace;
    if (namespace && !this.includesNamespace(namespace)) return false;
    if (this.purpose === 'restore') return true;
    return !hasExcludeLabel(obj) && !obj.metadata.deletionTimestamp;
  }
}
