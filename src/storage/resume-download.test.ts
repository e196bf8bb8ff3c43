import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isCutShort, resumingDownload } from './resume-download.js';

const data = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');

/** `data` from `offset`, cut (an 'aborted' error, as Node's http gives) after `cutAfter` bytes. */
function body(offset: number, cutAfter = Infinity): Readable {
  const rest = data.subarray(offset);
  const sent = rest.subarray(0, Math.min(rest.length, cutAfter));
  return new Readable({
    read() {
      for (let i = 0; i < sent.length; i += 4) this.push(sent.subarray(i, i + 4));
      if (cutAfter < rest.length) this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
      else this.push(null);
      this.read = () => undefined;
    },
  });
}

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('resumingDownload', () => {
  it('goes on from the byte reached after each cut, and the bytes are whole and in order', async () => {
    const offsets: number[] = [];
    const out = await collect(
      resumingDownload({
        first: body(0, 10),
        reopen: (offset) => Promise.resolve(body(offset, offsets.length === 1 ? 7 : Infinity)),
        maxResumes: 3,
        onResume: (offset) => offsets.push(offset),
      }),
    );
    expect(out.equals(data)).toBe(true);
    // Resumed twice, each time from no further than the cut (bytes buffered when the stream
    // broke may be dropped with it; they are asked for again).
    expect(offsets).toHaveLength(2);
    expect(offsets[0]).toBeLessThanOrEqual(10);
    expect(offsets[1]).toBeGreaterThan(offsets[0] ?? 0);
  });

  it('goes on as long as each resume gains bytes, however many cuts that takes', async () => {
    let resumes = 0;
    const out = await collect(
      resumingDownload({
        first: body(0, 5),
        reopen: (o) => Promise.resolve(body(o, 5)),
        maxResumes: 2,
        onResume: () => (resumes += 1),
      }),
    );
    expect(out.equals(data)).toBe(true);
    expect(resumes).toBe(Math.ceil(data.length / 5) - 1);
  });

  it('fails with the cut once that many resumes in a row gained nothing', async () => {
    let resumes = 0;
    await expect(
      collect(
        resumingDownload({
          first: body(0, 5),
          reopen: (o) => Promise.resolve(body(o, 0)),
          maxResumes: 2,
          onResume: () => (resumes += 1),
        }),
      ),
    ).rejects.toThrow('aborted');
    // The first cut gained 5 bytes; then two resumes that gained nothing, and the third cut is final.
    expect(resumes).toBe(2);
  });

  it('fails once all resumes of the download are used up, even while gaining', async () => {
    await expect(
      collect(
        resumingDownload({
          first: body(0, 3),
          reopen: (o) => Promise.resolve(body(o, 3)),
          maxResumes: 2,
          maxTotalResumes: 4,
        }),
      ),
    ).rejects.toThrow('aborted');
  });

  it('does not resume other errors (a checksum mismatch is final)', async () => {
    const bad = new Readable({
      read() {
        this.destroy(new Error('Checksum mismatch: expected "x" but received "y"'));
      },
    });
    let reopened = 0;
    await expect(
      collect(
        resumingDownload({
          first: bad,
          reopen: () => Promise.resolve(body(0, (reopened += 1))),
          maxResumes: 3,
        }),
      ),
    ).rejects.toThrow(/Checksum mismatch/);
    expect(reopened).toBe(0);
  });

  it.each([
    [{ code: 'ECONNRESET' }, true],
    [{ message: 'aborted' }, true],
    [{ code: 'ERR_STREAM_PREMATURE_CLOSE' }, true],
    [{ message: 'S3 endpoint x sent no data for 100 ms' }, false],
    [undefined, false],
  ])('isCutShort(%j) is %s', (err, cut) => {
    expect(isCutShort(err)).toBe(cut);
  });
});
