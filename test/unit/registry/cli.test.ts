import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { PullProgressView } from '../../../shared/cli/commands/_progress.js';
import type { CliIO } from '../../../shared/cli/io.js';
import { cliRunner } from '../../helpers/cli.js';

// The registry commands' own behaviour without a registry: usage errors, the empty store, and the
// live progress drawn only on a terminal.

const tmp = mkdtempSync(path.join(os.tmpdir(), 'oci-cli-registry-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cli = cliRunner(path.join(tmp, 'cache'), { HOME: tmp, PATH: process.env.PATH });

describe('pull, tags, images (no registry needed)', () => {
  it('usage errors exit 2 with the reason', async () => {
    expect(await cli('pull')).toMatchObject({ code: 2, err: expect.stringMatching(/pull needs one <reference>/) });
    expect(await cli('pull', 'x', '--platform', 'linux/amd64', '--all-platforms')).toMatchObject({ code: 2, err: expect.stringMatching(/either --platform or --all-platforms/) });
    expect(await cli('tags', 'ruby:3')).toMatchObject({ code: 1, err: expect.stringMatching(/without a tag or digest/) });
    expect(await cli('tags', 'x', '--page-size', '0')).toMatchObject({ code: 2, err: expect.stringMatching(/--page-size must be a positive/) });
    expect(await cli('pull', 'Bad:Ref')).toMatchObject({ code: 1, err: expect.stringMatching(/lowercase/) });
  });

  it('images on an empty store says how to fill it; --json is an empty list', async () => {
    expect((await cli('images')).out).toMatch(/No images in the store .*oci-explorer pull REF/);
    expect(JSON.parse((await cli('images', '--json')).out)).toEqual([]);
  });

  it('--help of each names its options', async () => {
    expect((await cli('pull', '--help')).out).toMatch(/--platform P[\s\S]*--all-platforms[\s\S]*--to DIR[\s\S]*--insecure/);
    expect((await cli('tags', '--help')).out).toMatch(/every page/);
    expect((await cli('images', '--help')).out).toMatch(/open it offline|Open one offline/);
  });
});

describe('pull progress on a terminal', () => {
  const io = (tty: boolean) => {
    const err: string[] = [];
    const o: CliIO = { stdout: () => {}, stderr: (s) => void err.push(s), cwd: tmp, env: {}, stderrIsTTY: tty };
    return { o, err };
  };
  const D = 'sha256:' + 'ab'.repeat(32);

  it('draws one line per blob (digest, bytes, speed), redrawn in place', () => {
    vi.useFakeTimers();
    try {
      const { o, err } = io(true);
      const v = new PullProgressView(o);
      v.update({ digest: D, mediaType: 'x', done: 0, total: 10_000_000, state: 'downloading' });
      vi.advanceTimersByTime(1000);
      v.update({ digest: D, mediaType: 'x', done: 5_000_000, total: 10_000_000, state: 'downloading' });
      vi.advanceTimersByTime(250);
      v.update({ digest: 'sha256:' + 'cd'.repeat(32), mediaType: 'x', done: 3, total: 3, state: 'present' });
      v.finish();
      const text = err.join('');
      expect(text).toMatch(/abababababab\s+5.00 MB \/ 10.0 MB\s+\d.*MB\/s/);
      expect(text).toMatch(/cdcdcdcdcdcd\s+3 B \/ 3 B\s+already here/);
      expect(text).toContain(`${String.fromCharCode(27)}[1A`); // moved up to redraw
    } finally {
      vi.useRealTimers();
    }
  });

  it('draws nothing when standard error is not a terminal', () => {
    const { o, err } = io(false);
    const v = new PullProgressView(o);
    v.update({ digest: D, mediaType: 'x', done: 1, total: 2, state: 'downloading' });
    v.finish();
    expect(err).toEqual([]);
  });
});
