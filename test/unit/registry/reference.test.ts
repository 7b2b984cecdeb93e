import { describe, expect, it } from 'vitest';
import { familiarReference, formatReference, isLoopbackHost, parseReference, parseRepository, registryEndpoint } from '../../../shared/registry/reference.js';

// The distribution/reference grammar (what `docker pull` and skopeo's docker:// accept), edge cases
// from its normalize and reference tests and DESIGN.md: docker.io default, implicit library/, default
// tag latest, digest over tag, ports, localhost, IPv6 hosts, docker:// prefix; what is refused and why.

const D = 'sha256:' + 'a'.repeat(64);
const D512 = 'sha512:' + 'b'.repeat(128);

const VALID: [string, string, { registry: string; repository: string; tag?: string; digest?: string }][] = [
  ['one-part name', 'ruby', { registry: 'docker.io', repository: 'library/ruby', tag: 'latest' }],
  ['name:tag', 'ruby:2.7.2-slim', { registry: 'docker.io', repository: 'library/ruby', tag: '2.7.2-slim' }],
  ['library/ spelled out', 'library/ruby:3', { registry: 'docker.io', repository: 'library/ruby', tag: '3' }],
  ['docker.io spelled out', 'docker.io/ruby', { registry: 'docker.io', repository: 'library/ruby', tag: 'latest' }],
  ['index.docker.io is docker.io', 'index.docker.io/library/ruby', { registry: 'docker.io', repository: 'library/ruby', tag: 'latest' }],
  ['user/repo on Docker Hub', 'bitnami/redis:7.2', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7.2' }],
  ['deep path on Docker Hub', 'a/b/c', { registry: 'docker.io', repository: 'a/b/c', tag: 'latest' }],
  ['registry with a dot', 'ghcr.io/o/r:v1', { registry: 'ghcr.io', repository: 'o/r', tag: 'v1' }],
  ['registry, one-part path (no library/)', 'quay.io/busybox', { registry: 'quay.io', repository: 'busybox', tag: 'latest' }],
  ['digest only', `ghcr.io/o/r@${D}`, { registry: 'ghcr.io', repository: 'o/r', digest: D }],
  ['tag and digest: the digest wins, the tag is kept as a label', `ruby:3@${D}`, { registry: 'docker.io', repository: 'library/ruby', tag: '3', digest: D }],
  ['sha512 digest', `x/y@${D512}`, { registry: 'docker.io', repository: 'x/y', digest: D512 }],
  ['localhost without port', 'localhost/foo', { registry: 'localhost', repository: 'foo', tag: 'latest' }],
  ['localhost with port', 'localhost:5000/foo/bar:baz', { registry: 'localhost:5000', repository: 'foo/bar', tag: 'baz' }],
  ['IPv4 with port', '127.0.0.1:5000/x:y', { registry: '127.0.0.1:5000', repository: 'x', tag: 'y' }],
  ['IPv6 with port', '[::1]:5000/x:y', { registry: '[::1]:5000', repository: 'x', tag: 'y' }],
  ['IPv6 without port', '[2001:db8::1]/x', { registry: '[2001:db8::1]', repository: 'x', tag: 'latest' }],
  ['host:port, no tag', 'example.com:443/a/b', { registry: 'example.com:443', repository: 'a/b', tag: 'latest' }],
  ['a first part with capitals is a host', 'Example.COM/a', { registry: 'Example.COM', repository: 'a', tag: 'latest' }],
  ['separators: . _ __ and runs of -', 'x/a.b_c__d---e', { registry: 'docker.io', repository: 'x/a.b_c__d---e', tag: 'latest' }],
  ['a first part with a dot is a registry', 'a.b/c', { registry: 'a.b', repository: 'c', tag: 'latest' }],
  ['tag of 128 characters, starting with _', `x:_${'t'.repeat(127)}`, { registry: 'docker.io', repository: 'library/x', tag: `_${'t'.repeat(127)}` }],
  ['localhost alone is a name', 'localhost', { registry: 'docker.io', repository: 'library/localhost', tag: 'latest' }],
  ['name:5000 alone is a tag, not a port', 'localhost:5000', { registry: 'docker.io', repository: 'library/localhost', tag: '5000' }],
  ['skopeo docker:// prefix', 'docker://busybox:1.36', { registry: 'docker.io', repository: 'library/busybox', tag: '1.36' }],
  ['white space around', '  ruby  ', { registry: 'docker.io', repository: 'library/ruby', tag: 'latest' }],
];

const INVALID: [string, string, RegExp][] = [
  ['empty', '', /empty/],
  ['uppercase repository', 'Ruby', /must be lowercase/],
  ['uppercase path on a registry', 'ghcr.io/Owner/repo', /must be lowercase/],
  ['empty tag', 'ruby:', /tag after ":" is empty/],
  ['tag starting with -', 'ruby:-x', /may not start with "." or "-"/],
  ['tag starting with .', 'ruby:.x', /may not start/],
  ['tag of 129 characters', `x:${'t'.repeat(129)}`, /1 to 128/],
  ['tag with a slash after the colon', 'ruby:a/b', /each part|not a registry host/],
  ['short digest', 'ruby@sha256:abc', /not a digest/],
  ['digest of the wrong length for its algorithm', `ruby@sha256:${'a'.repeat(40)}`, /64 or sha512/],
  ['unknown digest algorithm', `ruby@md5:${'a'.repeat(32)}`, /sha256: with 64/],
  ['uppercase digest hex', `ruby@sha256:${'A'.repeat(64)}`, /lowercase hex/],
  ['double slash', 'a//b', /empty part/],
  ['leading slash', '/ruby', /empty part/],
  ['trailing slash', 'ruby/', /empty part/],
  ['separator at the start of a part', 'x/-a', /separated by/],
  ['separator at the end of a part', 'a-/b', /separated by/],
  ['three underscores', 'a___b', /separated by/],
  ['white space inside', 'ru by', /white space/],
  ['64 hex characters: an image ID', 'f'.repeat(64), /image ID/],
  ['name longer than 255 characters', 'a'.repeat(256), /over the limit of 255/],
  ['bad host', 'exa_mple.com/x', /each part|not a registry host/],
  ['nothing before the tag', ':tag', /missing|empty/],
  ['nothing before the digest', `@${D}`, /missing|empty/],
];

describe('reference grammar (distribution/reference)', () => {
  it.each(VALID)('%s: %s', (_label, spec, want) => {
    const r = parseReference(spec);
    expect(r).toEqual(want);
  });

  it.each(INVALID)('refused: %s (%s)', (_label, spec, why) => {
    let err: unknown;
    try {
      parseReference(spec);
    } catch (e) {
      err = e;
    }
    expect(err, spec).toMatchObject({ code: 'REFERENCE_INVALID' });
    expect((err as Error).message).toMatch(why);
    expect((err as Error).message).toMatch(/is not a valid image reference: /);
  });

  it('formats back to the full and the familiar form; docker.io is served by registry-1.docker.io', () => {
    const r = parseReference('ruby:2.7.2-slim');
    expect(formatReference(r)).toBe('docker.io/library/ruby:2.7.2-slim');
    expect(familiarReference(r)).toBe('ruby:2.7.2-slim');
    expect(familiarReference(parseReference('bitnami/redis'))).toBe('bitnami/redis:latest');
    expect(familiarReference(parseReference(`ghcr.io/o/r@${D}`))).toBe(`ghcr.io/o/r@${D}`);
    expect(registryEndpoint('docker.io')).toBe('registry-1.docker.io');
    expect(registryEndpoint('ghcr.io')).toBe('ghcr.io');
  });

  it('repositories for `tags`: no tag or digest allowed', () => {
    expect(parseRepository('ruby')).toEqual({ registry: 'docker.io', repository: 'library/ruby' });
    expect(parseRepository('localhost:5000/a/b')).toEqual({ registry: 'localhost:5000', repository: 'a/b' });
    expect(() => parseRepository('ruby:3')).toThrow(/without a tag or digest/);
    expect(() => parseRepository(`ruby@${D}`)).toThrow(/without a tag or digest/);
  });

  it('loopback hosts (plain HTTP allowed, as Docker treats 127.0.0.0/8)', () => {
    for (const h of ['127.0.0.1:5000', '127.1.2.3', 'localhost', 'localhost:80', '[::1]:5000', 'reg.localhost:1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['128.0.0.1', '10.0.0.1:5000', 'ghcr.io', '[2001:db8::1]:5000', 'localhost.example.com', '127.0.0.1.nip.io']) expect(isLoopbackHost(h), h).toBe(false);
  });
});
