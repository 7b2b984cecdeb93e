import { humanBytes } from '../../ui/format.js';
import { listDockerImages } from '../../sources/docker-daemon.js';
import { parseArgs, usageError } from '../args.js';
import type { CliIO } from '../io.js';

export const DOCKER_IMAGES_USAGE = `Usage: oci-explorer docker-images [--podman] [--json]

Lists the images of the local Docker engine (DOCKER_HOST, else /var/run/docker.sock), or of Podman
with --podman ($XDG_RUNTIME_DIR/podman/podman.sock), newest first, with the spec that opens each
(docker-daemon:NAME:TAG; docker-store:NAME:TAG reads the same image from Docker's store, as root).
--json  {"engine","apiVersion","images":[{"id","tags","digests","size","created","spec"}]}`;

export async function runDockerImages(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { podman: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (args.options.help) {
    io.stdout(DOCKER_IMAGES_USAGE + '\n');
    return 0;
  }
  if (args.positionals.length) throw usageError('docker-images takes no <source>.');
  const ac = new AbortController();
  const list = await listDockerImages({ env: { ...process.env, ...io.env }, signal: ac.signal }, { podman: args.options.podman === true });
  if (args.options.json) {
    io.stdout(JSON.stringify(list, null, 2) + '\n');
    return 0;
  }
  const rows = list.images.map((i) => [i.tags.join(', ') || '<none>', i.id.replace(/^sha256:/, '').slice(0, 12), i.created?.replace('T', ' ').replace(/\.\d+Z$/, 'Z') ?? '', humanBytes(i.size), i.spec]);
  const head = ['NAME', 'IMAGE ID', 'CREATED', 'SIZE', 'OPEN WITH'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((x, c) => (c === r.length - 1 ? x : x.padEnd(widths[c]!))).join('  ');
  io.stdout([`${list.images.length} image${list.images.length === 1 ? '' : 's'} in ${list.engine}`, line(head), ...rows.map(line)].join('\n') + '\n');
  return 0;
}
