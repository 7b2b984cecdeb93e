import { RegistryClient } from '../../registry/client.js';
import { parseRepository } from '../../registry/reference.js';
import { listTags } from '../../registry/tags.js';
import { parseArgs, usageError } from '../args.js';
import type { CliIO } from '../io.js';

export const TAGS_USAGE = `Usage: oci-explorer tags <repository> [--insecure] [--json]

Lists the tags of a repository, every page of them (e.g. \`oci-explorer tags ruby\`,
\`oci-explorer tags ghcr.io/o/r\`). --json prints a JSON array.`;

export async function runTags(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { insecure: { type: 'boolean' }, json: { type: 'boolean' }, 'page-size': { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (args.options.help) {
    io.stdout(TAGS_USAGE + '\n');
    return 0;
  }
  if (args.positionals.length !== 1) throw usageError('tags needs one <repository>.');
  const pageSize = args.options['page-size'] === undefined ? undefined : Number(args.options['page-size']);
  if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize < 1)) throw usageError('--page-size must be a positive whole number.');
  const ref = parseRepository(args.positionals[0]!);
  const client = new RegistryClient(ref, { env: io.env, ...(args.options.insecure ? { insecure: true } : {}) });
  const tags = await listTags(client, pageSize ? { pageSize } : {});
  io.stdout(args.options.json ? JSON.stringify(tags) + '\n' : tags.map((t) => t + '\n').join(''));
  return 0;
}
