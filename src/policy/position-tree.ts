// Where each field of a parsed document sits, as plain data: what DocumentLocator answers from
// the `yaml` AST, kept without the AST. A loaded file's documents can then be remembered (and
// written to the policy cache file) without their syntax trees, and errors found later (checks
// across documents) still point at the right line and column.
import { isAlias, isMap, isScalar, isSeq, visit } from 'yaml';
import type { Document, Node } from 'yaml';
import { appendFieldPath } from './field-path.js';
import type { FieldPath, Position } from './types.js';

/** Point at a field's key (`ttl:`) or at its value (`0h`). */
export type Anchor = 'key' | 'value';

/** What the checks ask of a document's positions (DocumentLocator, TreeLocator). */
export interface Locator {
  /** Where the document's content begins (after comments and `---`). */
  start(): Position;
  /** The position of `path`, or of its nearest existing ancestor's key. */
  locate(path: FieldPath, at?: Anchor): Position;
  /** The value position of every field in the document, keyed by formatFieldPath(). */
  fields(): Record<string, Position>;
}

/** One node of the tree: a mapping's entries by key, a sequence's items, or neither (a scalar). */
export interface PositionNode {
  map?: Map<string, PositionEntry>;
  seq?: (PositionEntry | undefined)[];
}

export interface PositionEntry {
  /** The key's position (mapping entries only). */
  key?: Position;
  /** The value's position; none for an empty value (`spec:` with nothing after it). */
  value?: Position;
  node: PositionNode;
}

export interface PositionTree {
  start: Position;
  root: PositionNode;
}

/**
 * The positions of a document, or undefined when plain data cannot answer exactly as the AST
 * would: YAML errors or warnings, aliases (the AST resolves them while locating), or a mapping
 * with two keys that read the same as text (`1` and `"1"`).
 */
export function positionTree(
  doc: Document.Parsed,
  position: (offset: number) => Position,
): PositionTree | undefined {
  if (doc.errors.length > 0 || doc.warnings.length > 0) return undefined;
  let alias = false;
  visit(doc, {
    Alias() {
      alias = true;
      return visit.BREAK;
    },
  });
  if (alias) return undefined;
  const start = position(doc.contents?.range[0] ?? doc.range[0]);
  const nodeStart = (node: unknown): Position | undefined => {
    const range = (node as Node | null | undefined)?.range;
    return range ? position(range[0]) : undefined;
  };
  // As DocumentLocator.valueStart: an empty value has no position of its own.
  const valueStart = (node: unknown): Position | undefined => {
    const range = (node as Node | null | undefined)?.range;
    if (!range || (isScalar(node) && node.value === null && range[0] === range[1])) return undefined;
    return position(range[0]);
  };
  let representable = true;
  const build = (node: unknown): PositionNode => {
    if (isMap(node)) {
      const map = new Map<string, PositionEntry>();
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        const text = String(pair.key.value);
        if (map.has(text)) representable = false;
        const entry: PositionEntry = { node: build(pair.value) };
        const key = nodeStart(pair.key);
        const value = valueStart(pair.value);
        if (key) entry.key = key;
        if (value) entry.value = value;
        map.set(text, entry);
      }
      return { map };
    }
    if (isSeq(node)) {
      return {
        seq: node.items.map((item) => {
          const entry: PositionEntry = { node: build(item) };
          const value = valueStart(item);
          if (value) entry.value = value;
          return entry;
        }),
      };
    }
    if (isAlias(node)) representable = false;
    return {};
  };
  const root = build(doc.contents);
  return representable ? { start, root } : undefined;
}

/** A Locator answering from a PositionTree, exactly as DocumentLocator answers from the AST. */
export class TreeLocator implements Locator {
  constructor(readonly tree: PositionTree) {}

  start(): Position {
    return { ...this.tree.start };
  }

  locate(path: FieldPath, at: Anchor = 'value'): Position {
    let node: PositionNode | undefined = this.tree.root;
    let nearest = this.start();
    for (const [i, segment] of path.entries()) {
      const last = i === path.length - 1;
      if (node?.map) {
        const entry = node.map.get(String(segment));
        if (!entry) return nearest;
        const keyPos = entry.key ? { ...entry.key } : nearest;
        if (last) return at === 'key' ? keyPos : entry.value ? { ...entry.value } : keyPos;
        nearest = keyPos;
        node = entry.node;
      } else if (node?.seq && typeof segment === 'number') {
        const entry: PositionEntry | undefined = node.seq[segment];
        if (!entry?.value) return nearest;
        if (last) return { ...entry.value };
        nearest = { ...entry.value };
        node = entry.node;
      } else {
        return nearest;
      }
    }
    return nearest;
  }

  fields(): Record<string, Position> {
    const out: Record<string, Position> = { '': this.start() };
    // Paths formatted as the walk goes down: formatting each whole path again cost a quiet pass
    // at 500 schedules about 30 ms.
    const walk = (node: PositionNode, path: string): void => {
      if (node.map) {
        for (const [key, entry] of node.map) {
          const childPath = appendFieldPath(path, key);
          const pos = entry.value ?? entry.key;
          if (pos) out[childPath] = { ...pos };
          walk(entry.node, childPath);
        }
      } else if (node.seq) {
        node.seq.forEach((entry, index) => {
          if (!entry) return;
          const childPath = appendFieldPath(path, index);
          if (entry.value) out[childPath] = { ...entry.value };
          walk(entry.node, childPath);
        });
      }
    };
    walk(this.tree.root, '');
    return out;
  }
}
