import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { listImages } from '../../../shared/graph/select.js';
import { readVerified } from '../../../shared/sources/verify.js';
import { fx, noSharedFixtures } from '../../helpers/fixtures.js';
import { Kit } from './layout-kit.js';

// cosign's real Sigstore bundle (a DSSE envelope around an in-toto statement), stored the way cosign
// stores it in a registry with OCI 1.1 referrers: a manifest with artifactType = the bundle media
// type, the empty config, the bundle as its one layer, and `subject` = the image. The fixture has no
// layout around it, so the layout is made here; the bundle bytes are the fixture's, unchanged.

const BUNDLE = 'cosign/pkg/cosign/testdata/oci-attestation.sigstore.json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const EMPTY = 'application/vnd.oci.empty.v1+json';

interface Bundle {
  mediaType: string;
  dsseEnvelope: { payloadType: string; payload: string; signatures: unknown[] };
}
interface Statement {
  _type: string;
  predicateType: string;
  subject: { digest: Record<string, string> }[];
}

const kits: Kit[] = [];
afterEach(() => {
  while (kits.length) kits.pop()!.remove();
});

describe.skipIf(noSharedFixtures)('a cosign Sigstore bundle as an OCI referrer', () => {
  it('is a signature-family referrer of its subject, with the bundle as a pending layer node of its media type', async () => {
    const bytes = readFileSync(fx(BUNDLE));
    const bundle = JSON.parse(bytes.toString('utf8')) as Bundle;
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json');
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as Statement;
    expect(statement._type).toBe('https://in-toto.io/Statement/v0.1');

    const k = new Kit();
    kits.push(k);
    const image = k.image();
    const layer = k.put(bytes, bundle.mediaType);
    const config = k.put('{}', EMPTY);
    const annotations = { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': statement.predicateType };
    const referrer = k.put({ schemaVersion: 2, mediaType: MANIFEST, artifactType: bundle.mediaType, config, layers: [layer], subject: image.manifest, annotations }, MANIFEST);
    k.index([image.manifest, { ...referrer, artifactType: bundle.mediaType, annotations }]);
    const g = await k.graph();

    const r = g.node(referrer.digest)!;
    expect(r).toMatchObject({ mediaType: MANIFEST, artifactType: bundle.mediaType, verify: 'verified', problems: [] });
    // cosign calls this an attestation (predicate cosign.sigstore.dev/attestation/v1); the graph files
    // every Sigstore bundle as a signature today. Either way it is not a runnable image or a plain artifact.
    expect(['signature', 'attestation']).toContain(r.kind);
    expect(r.annotations?.['dev.sigstore.bundle.predicateType']).toBe('https://cosign.sigstore.dev/attestation/v1');

    const l = g.node(layer.digest)!;
    expect(l).toMatchObject({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', size: bytes.length, verify: 'pending', problems: [] });
    expect(l.kind).toBe(r.kind);
    expect(g.node(config.digest)).toMatchObject({ mediaType: EMPTY, verify: 'verified', problems: [] });

    expect(g.graph.edges).toContainEqual({ from: referrer.digest, to: image.manifest.digest, role: 'subject' });
    expect(g.graph.edges).toContainEqual({ from: image.manifest.digest, to: referrer.digest, role: 'referrer' });
    expect(g.graph.edges).toContainEqual({ from: referrer.digest, to: layer.digest, role: 'layer', index: 0 });
    expect(listImages(g.graph).map((i) => i.manifest)).toEqual([image.manifest.digest]);
    expect(g.graph.nodes.flatMap((n) => n.problems)).toEqual([]);

    // Read back through the source (verified), the layer is the bundle, byte for byte.
    const back = await readVerified(g.source, layer);
    expect(back.equals(bytes)).toBe(true);
    expect((JSON.parse(back.toString('utf8')) as Bundle).dsseEnvelope.signatures).toHaveLength(1);
  });
});
