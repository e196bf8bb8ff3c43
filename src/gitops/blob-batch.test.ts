import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseTreeListing, splitBlobs } from './blob-batch.js';

/** The id Git gives a blob (SHA-1 object format). */
function blobId(content: string): string {
  const bytes = Buffer.from(content);
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

describe('parseTreeListing', () => {
  it('reads mode, type, id, padded size and a path with spaces and tabs', () => {
    const a = blobId('a\n');
    const out =
      `100644 blob ${a}       2\tstatus/a.yaml\0` +
      `120000 blob ${a}       2\tstatus/link\0` +
      `160000 commit ${a}       -\tvendor/sub\0` +
      `100644 blob ${a}       2\tstatus/with space\tand tab.yaml\0`;
    expect(parseTreeListing(out)).toEqual([
      { mode: '100644', type: 'blob', sha: a, size: 2, path: 'status/a.yaml' },
      { mode: '120000', type: 'blob', sha: a, size: 2, path: 'status/link' },
      { mode: '160000', type: 'commit', sha: a, size: -1, path: 'vendor/sub' },
      { mode: '100644', type: 'blob', sha: a, size: 2, path: 'status/with space\tand tab.yaml' },
    ]);
  });

  it('reads nothing from an empty listing', () => {
    expect(parseTreeListing('')).toEqual([]);
  });
});

describe('splitBlobs', () => {
  const texts = ['first: 1\n', 'zweite: ä — ü\n', '', 'third\n'];
  const blobs = texts.map((t) => [blobId(t), Buffer.byteLength(t)] as const);
  const output = Buffer.concat(texts.map((t) => Buffer.from(t)));

  it('cuts concatenated blobs apart by their sizes in bytes', () => {
    const got = splitBlobs(output, blobs);
    expect(texts.map((t) => got.get(blobId(t)))).toEqual(texts);
  });

  it('refuses output whose pieces do not hash to the ids asked for', () => {
    const swapped = [blobs[1], blobs[0], blobs[2], blobs[3]] as typeof blobs;
    expect(() => splitBlobs(output, swapped)).toThrow(/came back with other content/);
  });

  it('refuses output with bytes left over', () => {
    expect(() => splitBlobs(Buffer.concat([output, Buffer.from('x')]), blobs)).toThrow(
      /1 unexpected byte\(s\) after 4 blob\(s\)/,
    );
  });
});
