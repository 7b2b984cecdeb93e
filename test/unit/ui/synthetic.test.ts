import { describe, expect, it } from 'vitest';
import { syntheticInfo } from '../../../shared/ui/synthetic.js';

describe('syntheticInfo', () => {
  it('names an OCI layout root index.json', () => {
    const s = syntheticInfo({ synthetic: true, label: 'index.json', kind: 'index' })!;
    expect(s.badge).toBe('index.json');
    expect(s.line).toMatch(/index\.json/);
  });
  it('says a docker-archive manifest is synthesized and from which file', () => {
    const s = syntheticInfo({ synthetic: true, label: 'manifest.json[0]', kind: 'manifest' })!;
    expect(s.badge).toBe('from manifest.json');
    expect(s.line).toMatch(/^Synthesized .*manifest\.json\[0\]/);
    expect(syntheticInfo({ synthetic: true, label: 'repositories: busybox', kind: 'manifest' })!.badge).toBe('from repositories');
  });
  it('says nothing for real blobs', () => {
    expect(syntheticInfo({ label: 'index.json', kind: 'index' })).toBeUndefined();
  });
});
