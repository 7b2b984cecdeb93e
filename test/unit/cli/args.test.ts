import { describe, expect, it } from 'vitest';
import { IMAGE_OPTIONS, openImageArg, parseArgs } from '../../../shared/cli/args.js';
import type { CliIO } from '../../../shared/cli/io.js';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';
import { dockerSaveFacts, readerFor } from '../graph/facts.js';

const io: CliIO = { stdout: () => {}, stderr: () => {}, cwd: process.cwd(), env: {} };

describe('parseArgs', () => {
  const spec = { json: { type: 'boolean' as const }, type: { type: 'string' as const, short: 't' }, ...IMAGE_OPTIONS };

  it('flags, values (both spellings), short options, positionals and --', () => {
    expect(parseArgs(['a', '--json', '--type', 'index', '--platform=linux/arm64', 'b', '-t', 'config', '--', '--not-an-option'], spec)).toEqual({
      positionals: ['a', 'b', '--not-an-option'],
      options: { json: true, type: 'config', platform: 'linux/arm64' },
    });
  });

  it.each([
    [['--nope'], /Unknown option --nope/],
    [['-x'], /Unknown option -x/],
    [['--json=1'], /takes no value/],
    [['--type'], /needs a value/],
    [['--image', '--json'], /needs a value/],
  ])('%j is a usage error', (argv, re) => {
    expect(() => parseArgs(argv, spec)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(re) }));
  });
});

describe.skipIf(noSharedFixtures)('openImageArg', () => {
  const bundle = fx('ggcr/pkg/v1/tarball/testdata/test_bundle.tar');

  it('picks the image named in docker-archive:PATH:REPO:TAG', async () => {
    for (const f of dockerSaveFacts(readerFor(bundle))) {
      const img = await openImageArg(`docker-archive:${bundle}:${f.repoTags[0]}`, parseArgs([], IMAGE_OPTIONS), io);
      await img.close();
      expect(img.image.config).toBe(f.configDigest);
      expect(img.context.doc(f.configDigest)).toMatchObject({ rootfs: { diff_ids: f.config.rootfs.diff_ids } });
    }
  });

  it('picks by --image (config digest = image ID) and lists the choices when it cannot choose', async () => {
    const [f] = dockerSaveFacts(readerFor(bundle));
    const img = await openImageArg(bundle, parseArgs(['--image', f!.configDigest], IMAGE_OPTIONS), io);
    await img.close();
    expect(img.image.config).toBe(f!.configDigest);
    await expect(openImageArg(bundle, parseArgs(['--platform', 'linux/amd64'], IMAGE_OPTIONS), io)).rejects.toMatchObject({
      code: 'IMAGE_AMBIGUOUS',
      message: expect.stringContaining(dockerSaveFacts(readerFor(bundle))[1]!.repoTags[0]!),
    });
  });
});
