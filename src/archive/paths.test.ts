import { describe, expect, it } from 'vitest';
import { assertSafeEntryPath, itemDir, itemPath, itemSubpath, UnsafeArchivePathError } from './paths.js';

/** The rule as first written: no absolute path, no backslash, no '..' segment. */
function unsafeByDefinition(path: string): boolean {
  return path.startsWith('/') || path.includes('\\') || path.split('/').some((s) => s === '..');
}

const isRefused = (path: string): boolean => {
  try {
    assertSafeEntryPath(path);
    return false;
  } catch (err) {
    expect(err).toBeInstanceOf(UnsafeArchivePathError);
    return true;
  }
};

describe('assertSafeEntryPath', () => {
  it.each(['..', '../x', 'x/..', 'x/../y', '/x', 'a\\b', 'resources/../../x.json'])('refuses %j', (path) => {
    expect(isRefused(path)).toBe(true);
  });

  it.each(['metadata/version', 'resources/pods/namespaces/a/b.json', '...', '..a/b', 'a/..b', 'a/b..', '.'])(
    'accepts %j',
    (path) => {
      expect(isRefused(path)).toBe(false);
    },
  );

  it('agrees with the segment-by-segment definition on every short path', () => {
    // Every path of up to 5 pieces from an alphabet that makes the edge cases.
    const pieces = ['a', '.', '..', '/', '\\', '...'];
    let paths = [''];
    for (let len = 1; len <= 5; len++) {
      paths = paths.flatMap((p) => pieces.map((c) => p + c));
      for (const path of paths) expect(isRefused(path), path).toBe(unsafeByDefinition(path));
    }
  });
});

describe('itemDir and itemSubpath', () => {
  it.each([
    ['configmaps', 'shop', 'web', ''],
    ['configmaps', 'shop', 'web', 'v1-preferredversion'],
    ['namespaces', '', 'shop', ''],
    ['widgets.example.com', '', 'w', 'v1beta1-preferredversion'],
  ])('join into itemPath for %s %j/%j under %j', (groupResource, namespace, name, versionDir) => {
    expect(itemDir(groupResource, versionDir) + itemSubpath(namespace, name)).toBe(
      itemPath({ groupResource, namespace, name, versionDir }),
    );
    expect(itemDir(groupResource, versionDir).endsWith('/')).toBe(true);
  });
});
