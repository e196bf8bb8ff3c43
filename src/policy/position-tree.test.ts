// TreeLocator must answer exactly as DocumentLocator does, for every field of every document:
// the policy cache hands out documents located by it instead of by the YAML AST.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { FieldPath } from './types.js';
import { TreeLocator } from './position-tree.js';
import { DocumentLocator } from './yaml-positions.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Every YAML file of the repository outside node_modules, dist and .git: policies/, deploy/. */
function repoYamlFiles(dir = root): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (['node_modules', 'dist', 'coverage'].includes(entry.name) || entry.name.startsWith('.')) continue;
      out.push(...repoYamlFiles(join(dir, entry.name)));
    } else if (/\.ya?ml$/.test(entry.name)) out.push(join(dir, entry.name));
  }
  return out;
}

/** Shapes the repository's files may not have: flow collections, empty values, odd keys, comments. */
const TRICKY = [
  'a: {b: 1, c: [x, {d: }], e: }\nf: [[1, 2], [], [3]]\n',
  '# comment\n---\nkind: X\nmetadata:\n  name: n  # trailing\nspec:\n',
  '"quoted key": 1\n? complex\n: 2\n0: zero\n1.5: x\ntrue: t\nnull: n\nlist:\n- - a\n  - b\n-\n- c: d\n',
  'text: |\n  line one\n  line two\nfolded: >-\n  a\n  b\nafter: 1\n',
  '---\na: 1\n---\n---\n- 1\n- {x: y}\n...\n',
  'plain: yes\n"a.b": dotted\n"x[0]": bracket\n__proto__: p\n',
  'scalar only',
  '',
];

/** Every path of the content, and paths just beside them that do not exist. */
function paths(doc: unknown): FieldPath[] {
  const out: FieldPath[] = [[]];
  const walk = (value: unknown, path: (string | number)[]): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        out.push([...path, i]);
        walk(item, [...path, i]);
      });
      out.push([...path, value.length], [...path, 'missing']);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        out.push([...path, key]);
        walk(item, [...path, key]);
      }
      out.push([...path, 'missing'], [...path, 0], [...path, 'missing', 'deeper']);
    } else {
      out.push([...path, 'below-a-scalar'], [...path, 0]);
    }
  };
  walk(doc, []);
  return out;
}

function compareAll(text: string, name: string): number {
  const lines = new LineCounter();
  let compared = 0;
  for (const doc of parseAllDocuments(text, { lineCounter: lines, prettyErrors: false })) {
    const ast = new DocumentLocator(doc, lines);
    const tree = ast.tree();
    if (!tree) continue;
    const plain = new TreeLocator(tree);
    expect(plain.start(), name).toEqual(ast.start());
    const fields = ast.fields();
    expect(plain.fields(), name).toEqual(fields);
    expect(Object.keys(plain.fields()), name).toEqual(Object.keys(fields));
    for (const path of paths(doc.toJS())) {
      expect(plain.locate(path), `${name} ${JSON.stringify(path)}`).toEqual(ast.locate(path));
      expect(plain.locate(path, 'key'), `${name} ${JSON.stringify(path)} key`).toEqual(
        ast.locate(path, 'key'),
      );
    }
    compared++;
  }
  return compared;
}

describe('TreeLocator', () => {
  it("answers as DocumentLocator for every document of the repository's YAML files", () => {
    const files = repoYamlFiles();
    expect(files.length).toBeGreaterThan(10);
    let compared = 0;
    for (const file of files) compared += compareAll(readFileSync(file, 'utf8'), relative(root, file));
    expect(compared).toBeGreaterThanOrEqual(files.length);
  });

  it('answers as DocumentLocator for flow collections, empty values, odd keys and several documents', () => {
    let compared = 0;
    for (const [i, text] of TRICKY.entries()) compared += compareAll(text, `tricky ${i}`);
    expect(compared).toBeGreaterThanOrEqual(TRICKY.length - 1);
  });

  it('gives no tree where plain data could answer differently: errors, aliases, keys alike as text', () => {
    const treeOf = (text: string) => {
      const lines = new LineCounter();
      const [doc] = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
      if (!doc) throw new Error('a document expected');
      return new DocumentLocator(doc, lines).tree();
    };
    expect(treeOf('a: 1\nb: 2\n')).toBeDefined();
    expect(treeOf('a: &x {b: 1}\nc: *x\n')).toBeUndefined();
    expect(treeOf('a: 1\na: 2\n')).toBeUndefined();
    expect(treeOf('1: a\n"1": b\n')).toBeUndefined();
    expect(treeOf('a: [1, 2\n')).toBeUndefined();
  });
});
