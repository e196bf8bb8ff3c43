// Maps field paths back to line and column in the YAML source, so every error can say
// where the author has to look. Works on the `yaml` package's Document AST.
import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node, Pair } from 'yaml';
import { formatFieldPath } from './field-path.js';
import { positionTree } from './position-tree.js';
import type { Anchor, Locator, PositionTree } from './position-tree.js';
import type { FieldPath, Position } from './types.js';

export type { Anchor } from './position-tree.js';

export class DocumentLocator implements Locator {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** The position of a source offset. */
  position(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /** Where the document's content begins (after comments and `---`). */
  start(): Position {
    const contents = this.doc.contents;
    return this.position(contents?.range[0] ?? this.doc.range[0]);
  }

  /**
   * The position of `path`. A path that does not exist (a missing required field) resolves to
   * its nearest existing ancestor's key, which is where the author has to add it.
   */
  locate(path: FieldPath, at: Anchor = 'value'): Position {
    let node: unknown = this.doc.contents;
    let nearest = this.start();
    for (const [i, segment] of path.entries()) {
      node = this.resolve(node);
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = findPair(node.items, segment);
        if (!pair) return nearest;
        const keyPos = this.nodeStart(pair.key) ?? nearest;
        if (last) return at === 'key' ? keyPos : (this.valueStart(pair.value) ?? keyPos);
        nearest = keyPos;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item: unknown = node.items[segment];
        const itemPos = this.valueStart(item);
        if (!itemPos) return nearest;
        if (last) return itemPos;
        nearest = itemPos;
        node = item;
      } else {
        return nearest;
      }
    }
    return nearest;
  }

  /** The value position of every field in the document, keyed by formatFieldPath(). */
  fields(): Record<string, Position> {
    const out: Record<string, Position> = { '': this.start() };
    const visit = (node: unknown, path: (string | number)[]): void => {
      if (isMap(node)) {
        for (const pair of node.items) {
          if (!isScalar(pair.key)) continue;
          const childPath = [...path, String(pair.key.value)];
          const pos = this.valueStart(pair.value) ?? this.nodeStart(pair.key);
          if (pos) out[formatFieldPath(childPath)] = pos;
          visit(pair.value, childPath);
        }
      } else if (isSeq(node)) {
        node.items.forEach((item, index) => {
          const pos = this.valueStart(item);
          if (pos) out[formatFieldPath([...path, index])] = pos;
          visit(item, [...path, index]);
        });
      }
    };
    visit(this.doc.contents, []);
    return out;
  }

  /** The same answers as plain data (TreeLocator), or undefined where it cannot give them. */
  tree(): PositionTree | undefined {
    return positionTree(this.doc, (offset) => this.position(offset));
  }

  private resolve(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node;
  }

  private nodeStart(node: unknown): Position | undefined {
    const range = (node as Node | null | undefined)?.range;
    return range ? this.position(range[0]) : undefined;
  }

  /** An empty value (`spec:` with nothing after it) has no useful position of its own. */
  private valueStart(node: unknown): Position | undefined {
    const range = (node as Node | null | undefined)?.range;
    if (!range || (isScalar(node) && node.value === null && range[0] === range[1])) return undefined;
    return this.position(range[0]);
  }
}

function findPair(
  items: Pair<unknown, unknown>[],
  segment: string | number,
): Pair<unknown, unknown> | undefined {
  return items.find((pair) => isScalar(pair.key) && String(pair.key.value) === String(segment));
}
