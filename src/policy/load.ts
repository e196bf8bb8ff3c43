// Loads a policy repository: every YAML document under the directory is parsed, checked
// against its kind's schema and rules, then against the other documents. An invalid document
// is left out with errors naming file, line, column and field; the valid ones are returned,
// so one bad file stalls only itself (and the documents that depend on it).
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { LineCounter, isAlias, parseAllDocuments, visit } from 'yaml';
import type { Document } from 'yaml';
import { formatFieldPath } from './field-path.js';
import type { Issue } from './issue.js';
import { crossDocumentIssues } from './references.js';
import type { DocumentEntry } from './references.js';
import { inlineCredentialValues } from './rules/credentials.js';
import { documentIssues } from './rules/document-rules.js';
import type { DocumentContent, PolicyRuleOptions } from './rules/document-rules.js';
import { headerIssues, isPolicyKind } from './rules/header.js';
import { createSchemaValidator } from './schema.js';
import type { SchemaValidator } from './schema.js';
import { TreeLocator } from './position-tree.js';
import type { Locator, PositionTree } from './position-tree.js';
import type { PolicyDocument, PolicyError, PolicyKind, Position } from './types.js';
import { DocumentLocator } from './yaml-positions.js';

/**
 * Top-level directories that hold no policy: the trees the reconciler writes (status/, plans/),
 * the published schemas, and examples/ (documents to copy, which must not take effect where
 * they are). Hidden directories (.git, .github, ...) are skipped at every depth.
 */
export const DEFAULT_SKIP_DIRS: readonly string[] = ['status', 'plans', 'schema', 'examples'];

export interface PolicySourceFile {
  /** Path relative to the repository root, with '/' separators. */
  file: string;
  text: string;
}

export interface PolicyLoadResult {
  documents: PolicyDocument[];
  errors: PolicyError[];
  /** Findings that leave their document valid (severity 'warning'). */
  warnings: PolicyError[];
}

export interface LoadPolicyFilesOptions {
  /** Reuse one compiled validator across loads; created on demand otherwise. */
  validator?: SchemaValidator;
  /** What the reconciler's flags relax (--allow-link-local-endpoints). */
  rules?: PolicyRuleOptions;
  /** Files read by an earlier load (`lifeboat run`): unchanged ones are not parsed again. */
  cache?: PolicyFileCache;
}

/**
 * What each policy file gave an earlier load, by file and content: `lifeboat run` loads the same
 * unchanged files pass after pass, and parsing and checking 500 of them costs it about half a
 * second of CPU each time; `reconcile --once` keeps the same in a file between passes
 * (policy-cache-file.ts). Only the work on one file is remembered (YAML, schema, the kind's
 * rules); the checks across documents run on every load. A load forgets the files it did not
 * see, so the cache holds at most one copy of the repository. Documents are remembered with
 * their field positions as plain data (TreeLocator), not their syntax trees, where that gives
 * the same answers; a file whose documents cannot be (YAML errors, aliases) is remembered as
 * parsed, and never written to a cache file.
 */
export class PolicyFileCache {
  private entries = new Map<string, CacheEntry>();
  /** Files the last load took from the cache (for tests and debugging). */
  hits = 0;
  /** Whether records() changed (a load read or forgot a file) since creation or fromRecords(). */
  changed = false;

  /** @internal The candidates of `source`, read now or remembered; each load gets its own copy. */
  read(source: PolicySourceFile, rules: PolicyRuleOptions, readFile: () => Candidate[]): Candidate[] {
    const rulesKey = JSON.stringify(rules);
    const digest = contentDigest(source.text);
    let entry = this.entries.get(source.file);
    if (entry?.digest === digest && entry.rules === rulesKey) this.hits++;
    else {
      const previous = entry;
      entry = { digest, rules: rulesKey, ...withPlainPositions(readFile()) };
      this.entries.set(source.file, entry);
      // What records() gives changed (a file it cannot hold, read again, changes nothing).
      if (entry.plain || previous?.plain) this.changed = true;
    }
    // Cross-document findings are added to the copies, and a pass may change its documents:
    // neither reaches what is remembered.
    return entry.candidates.map((c) => ({
      ...c,
      content: c.content === undefined ? undefined : structuredClone(c.content),
      errors: [...c.errors],
      warnings: [...c.warnings],
    }));
  }

  /** @internal Start a load: count hits afresh. */
  begin(): void {
    this.hits = 0;
  }

  /** @internal End a load: forget files it did not see. */
  retain(files: ReadonlySet<string>): void {
    for (const [file, entry] of this.entries)
      if (!files.has(file)) {
        this.entries.delete(file);
        if (entry.plain) this.changed = true;
      }
  }

  /** The entries that plain data can hold (for a cache file); structured-clone safe. */
  records(): PolicyCacheRecord[] {
    const out: PolicyCacheRecord[] = [];
    for (const [file, entry] of this.entries) {
      if (!entry.plain) continue;
      out.push({
        file,
        digest: entry.digest,
        rules: entry.rules,
        candidates: entry.candidates.map(({ locator, ...rest }) => ({
          ...rest,
          tree: (locator as TreeLocator).tree,
        })),
      });
    }
    return out;
  }

  /** A cache holding `records` (read from a cache file), not yet changed. */
  static fromRecords(records: readonly PolicyCacheRecord[]): PolicyFileCache {
    const cache = new PolicyFileCache();
    for (const record of records) {
      cache.entries.set(record.file, {
        digest: record.digest,
        rules: record.rules,
        plain: true,
        candidates: record.candidates.map(({ tree, ...rest }) => ({
          ...rest,
          locator: new TreeLocator(tree),
        })),
      });
    }
    return cache;
  }
}

interface CacheEntry {
  /** contentDigest() of the file's text. */
  digest: string;
  /** The rule options of the load that read it, as JSON. */
  rules: string;
  candidates: Candidate[];
  /** Every candidate's positions are plain data (TreeLocator). */
  plain: boolean;
}

/** One file's entry as a cache file holds it. */
export interface PolicyCacheRecord {
  file: string;
  digest: string;
  rules: string;
  candidates: (Omit<Candidate, 'locator'> & { tree: PositionTree })[];
}

function contentDigest(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

/** The candidates with TreeLocators, if every one of them can have one. */
function withPlainPositions(candidates: Candidate[]): { candidates: Candidate[]; plain: boolean } {
  const trees = candidates.map((c) => (c.locator instanceof DocumentLocator ? c.locator.tree() : undefined));
  if (trees.some((tree) => tree === undefined)) return { candidates, plain: false };
  return {
    candidates: candidates.map((c, i) => ({ ...c, locator: new TreeLocator(trees[i] as PositionTree) })),
    plain: true,
  };
}

export interface LoadPolicyRepoOptions extends LoadPolicyFilesOptions {
  dir: string;
  /** Top-level directories to skip; DEFAULT_SKIP_DIRS unless given. */
  skip?: readonly string[];
}

/** Load every policy document under `dir` (see DEFAULT_SKIP_DIRS for what is skipped). */
export async function loadPolicyRepo(options: LoadPolicyRepoOptions): Promise<PolicyLoadResult> {
  const scan = await scanPolicyFiles(options.dir, options.skip ?? DEFAULT_SKIP_DIRS);
  const sources: PolicySourceFile[] = [];
  const errors: PolicyError[] = scan.symlinks.map((file) => fileError(file, 'symlink', SYMLINK_MESSAGE));
  for (const file of scan.files) {
    try {
      sources.push({ file, text: readRegularFile(join(options.dir, ...file.split('/'))) });
    } catch (error) {
      // ELOOP: the file became a symlink after the scan; O_NOFOLLOW refused it.
      const code = (error as NodeJS.ErrnoException).code;
      errors.push(
        error instanceof FileLimitError
          ? fileError(file, 'limit', error.message)
          : code === 'ELOOP'
            ? fileError(file, 'symlink', SYMLINK_MESSAGE)
            : fileError(file, 'io', `cannot read the file: ${code ?? (error as Error).message}`),
      );
    }
  }
  const loaded = loadPolicyFiles(sources, options);
  return {
    documents: loaded.documents,
    errors: sortErrors([...errors, ...loaded.errors]),
    warnings: loaded.warnings,
  };
}

// A symlink in the policy repository could make the reconciler read its own files (its
// service-account token, a mounted Secret) and quote them into status/policy-errors.yaml in
// Git. Symlinks are refused by name, never followed, and the message says nothing of the target.
const SYMLINK_MESSAGE =
  'is a symbolic link; policy files must be regular files in the repository (symlinks are never followed)';

function fileError(file: string, code: PolicyError['code'], message: string): PolicyError {
  return { file, line: 1, column: 1, path: '', code, message };
}

/**
 * Limits of one policy file, checked before it is parsed: the YAML parser keeps every document
 * of a file in memory, and 60,000 small documents in one file exhausted the reconciler's heap.
 * Real policy files hold a handful of documents.
 */
export const POLICY_FILE_LIMITS = { maxBytes: 1024 * 1024, maxDocuments: 500 } as const;

class FileLimitError extends Error {}

function tooLarge(bytes: number): string {
  return `the file is ${bytes} bytes; a policy file may be at most ${POLICY_FILE_LIMITS.maxBytes} bytes (split it into several files)`;
}

/**
 * Read a regular file without following a symlink at its last component, up to the size limit.
 * Synchronous: policy files are small, and for 500 of them the promise API's four round trips
 * through the thread pool per file (open, stat, read, close) cost a quiet pass about 0.1 s of CPU.
 */
function readRegularFile(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const { size } = fstatSync(fd);
    if (size > POLICY_FILE_LIMITS.maxBytes) throw new FileLimitError(tooLarge(size));
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * At least how many documents the text holds: its "---" markers at the start of a line (plus
 * one for content before the first), counted without parsing. May over-count a marker inside a
 * column-0 block scalar, never under-counts.
 */
export function countDocumentMarkers(text: string): number {
  let count = /^(?:---(?:[ \t\r\n]|$)|\s*$)/.test(text) ? 0 : 1;
  for (const _ of text.matchAll(/^---(?:[ \t\r]|$)/gm)) count++;
  return count;
}

/** Why the file is over a limit, or undefined. */
function fileLimitError(text: string): string | undefined {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > POLICY_FILE_LIMITS.maxBytes) return tooLarge(bytes);
  const documents = countDocumentMarkers(text);
  if (documents > POLICY_FILE_LIMITS.maxDocuments)
    return `the file holds ${documents} documents; a policy file may hold at most ${POLICY_FILE_LIMITS.maxDocuments} (split it into several files)`;
  return undefined;
}

/** The YAML files of a repository, relative to `dir` with '/' separators, in sorted order. */
export async function listPolicyFiles(
  dir: string,
  skip: readonly string[] = DEFAULT_SKIP_DIRS,
): Promise<string[]> {
  return (await scanPolicyFiles(dir, skip)).files;
}

/**
 * The regular YAML files of a repository, and the symlinks named like one (*.yaml, *.yml):
 * those are refused, never read.
 */
export async function scanPolicyFiles(
  dir: string,
  skip: readonly string[] = DEFAULT_SKIP_DIRS,
): Promise<{ files: string[]; symlinks: string[] }> {
  const files: string[] = [];
  const symlinks: string[] = [];
  const walk = async (current: string, depth: number): Promise<void> => {
    const entries = await readdir(current, { withFileTypes: true });
    for (const entry of entries) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) {
        if (entry.name.startsWith('.') || (depth === 0 && skip.includes(entry.name))) continue;
        await walk(full, depth + 1);
      } else if (/\.ya?ml$/i.test(entry.name)) {
        // A symlinked directory is not walked (not read, so not reported: it might be a loop).
        const path = relative(dir, full).split(sep).join('/');
        if (entry.isSymbolicLink()) symlinks.push(path);
        else if (entry.isFile()) files.push(path);
      }
    }
  };
  try {
    await walk(dir, 0);
  } catch (error) {
    throw new Error(`cannot read policy repository ${dir}: ${(error as Error).message}`, { cause: error });
  }
  return { files: files.sort(), symlinks: symlinks.sort() };
}

/** Load documents from file contents already in memory (a working copy, or a branch via git show). */
export function loadPolicyFiles(
  files: readonly PolicySourceFile[],
  options: LoadPolicyFilesOptions = {},
): PolicyLoadResult {
  // Compiled only when some file is read: a load that finds every file in the cache needs none.
  let compiled = options.validator;
  const validator = (): SchemaValidator => (compiled ??= createSchemaValidator());
  const rules = options.rules ?? {};
  const cache = options.cache;
  cache?.begin();
  const overLimit: PolicyError[] = [];
  const candidates = [...files]
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
    .filter((source) => {
      const limit = fileLimitError(source.text);
      if (limit !== undefined) overLimit.push(fileError(source.file, 'limit', limit));
      return limit === undefined;
    })
    .flatMap((source) =>
      cache
        ? cache.read(source, rules, () => readSourceFile(source, validator(), rules))
        : readSourceFile(source, validator(), rules),
    );
  cache?.retain(new Set(files.map((f) => f.file)));
  applyCrossDocumentRules(candidates);
  const documents = candidates
    .filter((candidate) => candidate.errors.length === 0 && candidate.content !== undefined)
    .map(toPolicyDocument);
  return {
    documents,
    errors: sortErrors([...overLimit, ...candidates.flatMap((candidate) => candidate.errors)]),
    warnings: sortErrors(candidates.flatMap((candidate) => candidate.warnings)),
  };
}

/** One YAML document on its way through the checks. */
export interface Candidate {
  file: string;
  index: number;
  locator: Locator;
  /** The parsed content; undefined when the YAML itself is broken. */
  content: Record<string, unknown> | undefined;
  identity: { kind: string; name: string; namePosition: Position } | undefined;
  errors: PolicyError[];
  warnings: PolicyError[];
}

function readSourceFile(
  source: PolicySourceFile,
  validator: SchemaValidator,
  rules: PolicyRuleOptions,
): Candidate[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(source.text, { lineCounter: lines, prettyErrors: false });
  const candidates: Candidate[] = [];
  docs.forEach((doc, index) => {
    const candidate = readDocument({ file: source.file, index, doc, lines, validator, rules });
    if (candidate) candidates.push(candidate);
  });
  return candidates;
}

interface ReadDocumentInput {
  file: string;
  index: number;
  doc: Document.Parsed;
  lines: LineCounter;
  validator: SchemaValidator;
  rules: PolicyRuleOptions;
}

function readDocument({
  file,
  index,
  doc,
  lines,
  validator,
  rules,
}: ReadDocumentInput): Candidate | undefined {
  const locator = new DocumentLocator(doc, lines);
  const candidate: Candidate = {
    file,
    index,
    locator,
    content: undefined,
    identity: undefined,
    errors: [],
    warnings: [],
  };
  const syntax = yamlErrors(doc, locator, file);
  if (syntax.length > 0) {
    // Still name the document if possible, so documents referring to it hear that it is broken.
    candidate.identity = readIdentity(astIdentityHint(doc), locator);
    candidate.errors.push(...syntax.map((error) => ({ ...error, ...documentField(candidate) })));
    return candidate;
  }
  const parsed = toJs(doc);
  if ('error' in parsed) {
    candidate.errors.push({
      file,
      ...locator.start(),
      path: '',
      code: 'yaml',
      message: `YAML: ${parsed.error}`,
    });
    return candidate;
  }
  if (parsed.value === null || parsed.value === undefined) return undefined; // an empty document
  candidate.identity = readIdentity(parsed.value, locator);
  if (typeof parsed.value !== 'object' || Array.isArray(parsed.value)) {
    const message = 'a policy document must be a mapping with apiVersion, kind, metadata and spec';
    report(candidate, [{ code: 'document', path: [], message }]);
    return candidate;
  }
  candidate.content = parsed.value as Record<string, unknown>;
  report(candidate, checkContent(candidate.content, validator, rules));
  return candidate;
}

/** Header, then schema, then the kind's rules; credential-looking values are always reported. */
function checkContent(
  content: Record<string, unknown>,
  validator: SchemaValidator,
  rules: PolicyRuleOptions,
): Issue[] {
  const credentials = inlineCredentialValues(content);
  const header = headerIssues(content);
  if (header.length > 0) return [...header, ...credentials];
  const kind = content.kind as PolicyKind;
  const schema = validator.validate(kind, content);
  if (schema.length > 0) return [...schema, ...credentials];
  return [...documentIssues(content as unknown as DocumentContent, rules), ...credentials];
}

function yamlErrors(doc: Document.Parsed, locator: DocumentLocator, file: string): PolicyError[] {
  const errors: PolicyError[] = [...doc.errors, ...doc.warnings].map((error) => ({
    file,
    ...locator.position(error.pos[0]),
    path: '',
    code: 'yaml',
    message: `YAML: ${error.message}`,
  }));
  // The parser accepts an alias to an anchor that does not exist; converting it would throw
  // without a position, so find it here.
  visit(doc, {
    Alias(_key, node) {
      if (isAlias(node) && !node.resolve(doc) && node.range) {
        errors.push({
          file,
          ...locator.position(node.range[0]),
          path: '',
          code: 'yaml',
          message: `YAML: alias *${node.source} refers to no anchor &${node.source}`,
        });
      }
    },
  });
  return errors;
}

function toJs(doc: Document.Parsed): { value: unknown } | { error: string } {
  try {
    return { value: doc.toJS({ maxAliasCount: 100 }) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** kind and metadata.name of a document with broken YAML, read from whatever the parser built. */
function astIdentityHint(doc: Document.Parsed): unknown {
  try {
    return { kind: doc.get('kind'), metadata: { name: doc.getIn(['metadata', 'name']) } };
  } catch {
    return undefined;
  }
}

function readIdentity(value: unknown, locator: DocumentLocator): Candidate['identity'] {
  const content = value as { kind?: unknown; metadata?: { name?: unknown } } | null;
  const kind = content?.kind;
  const name = content?.metadata?.name;
  if (typeof kind !== 'string' || typeof name !== 'string') return undefined;
  return { kind, name, namePosition: locator.locate(['metadata', 'name']) };
}

function report(candidate: Candidate, issues: readonly Issue[]): void {
  for (const item of issues) {
    if (item.severity === 'warning') candidate.warnings.push(toPolicyError(candidate, item));
    else candidate.errors.push(toPolicyError(candidate, item));
  }
}

function toPolicyError(candidate: Candidate, item: Issue): PolicyError {
  const error: PolicyError = {
    file: candidate.file,
    ...candidate.locator.locate(item.path, item.at),
    path: formatFieldPath(item.path),
    message: item.message,
    code: item.code,
    ...documentField(candidate),
  };
  if (item.related) error.related = item.related;
  if (item.severity) error.severity = item.severity;
  return error;
}

function documentField(candidate: Candidate): Pick<PolicyError, 'document'> {
  const identity = candidate.identity;
  return identity ? { document: { kind: identity.kind, name: identity.name } } : {};
}

function applyCrossDocumentRules(candidates: Candidate[]): void {
  const entries = new Map<DocumentEntry, Candidate>();
  for (const candidate of candidates) {
    const identity = candidate.identity;
    if (!identity || !isPolicyKind(identity.kind)) continue;
    const entry: DocumentEntry = {
      kind: identity.kind,
      name: identity.name,
      file: candidate.file,
      namePosition: identity.namePosition,
      content: candidate.content,
      valid: candidate.errors.length === 0,
    };
    entries.set(entry, candidate);
  }
  for (const [entry, issues] of crossDocumentIssues([...entries.keys()])) {
    const candidate = entries.get(entry);
    if (candidate) report(candidate, issues);
  }
}

function toPolicyDocument(candidate: Candidate): PolicyDocument {
  const start = candidate.locator.start();
  return {
    ...(candidate.content as unknown as Omit<PolicyDocument, 'source'>),
    source: { file: candidate.file, index: candidate.index, ...start, fields: candidate.locator.fields() },
  } as PolicyDocument;
}

export function sortErrors(errors: PolicyError[]): PolicyError[] {
  return [...errors].sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line ||
      a.column - b.column ||
      a.message.localeCompare(b.message),
  );
}
