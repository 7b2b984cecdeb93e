// Registry test helpers: push fixtures with skopeo, check that a layout or store holds only verified
// blobs (every file under blobs/ hashes to its name; no temp file left), and a credential helper script.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run, type TestRegistry } from './tools.js';

/** skopeo copy of a fixture layout tag into the registry (`all` for indexes; auth from the registry's kind). */
export async function push(reg: Pick<TestRegistry, 'host' | 'tokenUrl' | 'username' | 'password'>, layoutRef: string, name: string, opts: { all?: boolean; format?: 'v2s2' | 'oci' } = {}): Promise<void> {
  const auth = reg.tokenUrl ? ['--dest-registry-token', 'anything'] : reg.username ? ['--dest-creds', `${reg.username}:${reg.password}`] : [];
  await run('skopeo', ['copy', '-q', ...(opts.all ? ['--all'] : []), ...(opts.format ? ['--format', opts.format] : []), ...auth, '--dest-tls-verify=false', layoutRef, `docker://${reg.host}/${name}`]);
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

/**
 * What a layout holds, checked: every blob hashes to its file name, and no temp or partial file is
 * left (ingest/ may hold nothing but lock-free emptiness). Returns the blob digests.
 */
export async function verifiedBlobs(layout: string): Promise<string[]> {
  const out: string[] = [];
  const dir = path.join(layout, 'blobs', 'sha256');
  if (existsSync(dir)) {
    for (const name of await readdir(dir)) {
      const actual = await sha256File(path.join(dir, name));
      if (actual !== name) throw new Error(`${layout}: blob ${name} hashes to ${actual}`);
      out.push(`sha256:${name}`);
    }
  }
  const ingest = path.join(layout, 'ingest');
  const left = existsSync(ingest) ? await readdir(ingest) : [];
  if (left.length) throw new Error(`${layout}: ingest/ still holds ${left.join(', ')}`);
  return out.sort();
}

/** A `docker-credential-<name>` script in `bin` that answers `get` for `server` with the credentials. */
export async function writeCredentialHelper(bin: string, name: string, server: string, username: string, secret: string, log?: string): Promise<void> {
  await mkdir(bin, { recursive: true });
  const file = path.join(bin, `docker-credential-${name}`);
  const json = JSON.stringify({ ServerURL: server, Username: username, Secret: secret });
  await writeFile(
    file,
    `#!/bin/sh
[ "$1" = get ] || exit 1
read -r server
${log ? `echo "$server" >> ${JSON.stringify(log)}` : ''}
if [ "$server" = ${JSON.stringify(server)} ]; then
  printf '%s' '${json.replace(/'/g, "'\\''")}'
  exit 0
fi
echo "credentials not found in native keychain"
exit 1
`,
  );
  await chmod(file, 0o755);
}
