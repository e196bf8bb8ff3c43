// Reading many blobs of a tree with two Git processes: `git ls-tree -r -l` (ids and sizes),
// then `git show ID…`, which prints the blobs back to back; they are cut apart by size here.
import { createHash } from 'node:crypto';

export interface TreeEntry {
  mode: string;
  type: string;
  sha: string;
  /** Bytes; -1 for entries without a size (trees, submodules). */
  size: number;
  path: string;
}

/** `git ls-tree -r -l -z` output: "<mode> <type> <sha> <size>\t<path>" records, NUL-terminated. */
export function parseTreeListing(output: string): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const record of output.split('\0').filter((s) => s !== '')) {
    const tab = record.indexOf('\t');
    if (tab < 0) continue;
    const [mode = '', type = '', sha = '', size = '-'] = record.slice(0, tab).split(/ +/);
    entries.push({ mode, type, sha, size: size === '-' ? -1 : Number(size), path: record.slice(tab + 1) });
  }
  return entries;
}

/**
 * Cut the concatenated blobs `git show A B …` printed into one text per blob, by their sizes
 * in order; each piece must hash to its blob id, so a surprise in Git's output is an error,
 * never a status file with another file's content.
 */
export function splitBlobs(
  output: Buffer,
  blobs: readonly (readonly [sha: string, size: number])[],
): Map<string, string> {
  const texts = new Map<string, string>();
  let offset = 0;
  for (const [sha, size] of blobs) {
    const piece = output.subarray(offset, offset + size);
    offset += size;
    const id = createHash(sha.length === 64 ? 'sha256' : 'sha1')
      .update(`blob ${piece.length}\0`)
      .update(piece)
      .digest('hex');
    if (id !== sha) throw new Error(`git show: blob ${sha} came back with other content (${id})`);
    texts.set(sha, piece.toString('utf8'));
  }
  if (offset !== output.length)
    throw new Error(`git show: ${output.length - offset} unexpected byte(s) after ${blobs.length} blob(s)`);
  return texts;
}
