import { ExplorerError } from '../errors.js';
import type { RegistryClient } from './client.js';
import { readBody } from './http.js';

// `GET /v2/<name>/tags/list`, paged: the registry's Link header (RFC 5988, rel="next") names the next
// page; only links on the registry's own host are followed.

export interface TagListOptions {
  /** Page size asked for (`n`); the registry may cap it. */
  pageSize?: number;
  signal?: AbortSignal;
  /** Stop after this many tags (a repository with hundreds of thousands). */
  max?: number;
}

/** The `rel="next"` target of a Link header, if any. */
export function nextLink(link: string | string[] | undefined): string | undefined {
  const text = Array.isArray(link) ? link.join(', ') : link ?? '';
  for (const part of text.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel="?next"?/i.test(m[2]!)) return m[1];
  }
  return undefined;
}

export async function listTags(client: RegistryClient, o: TagListOptions = {}): Promise<string[]> {
  const base = await client.ping(o.signal);
  let next: string | undefined = `/v2/${client.ref.repository}/tags/list${o.pageSize ? `?n=${o.pageSize}` : ''}`;
  const tags: string[] = [];
  const max = o.max ?? 1_000_000;
  for (let page = 0; next && tags.length < max; page++) {
    const url: URL = new URL(next, base);
    if (url.host !== base.host) break;
    const res = await client.request(url.pathname + url.search, o.signal ? { signal: o.signal } : {});
    if (res.status === 404) {
      res.discard();
      throw new ExplorerError('MANIFEST_UNKNOWN', `The repository ${client.ref.repository} was not found on ${client.ref.registry}. Check its name.`, { registry: client.ref.registry, repository: client.ref.repository });
    }
    if (res.status !== 200) throw await client.failure(res, `The tag list of ${client.ref.repository}`);
    const body = await readBody(res, 16 * 1024 * 1024, 'The tag list');
    let doc: { tags?: unknown };
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc;
    } catch {
      throw new ExplorerError('REGISTRY_ERROR', `${client.ref.registry} answered the tag list of ${client.ref.repository} with something that is not JSON.`);
    }
    const got = Array.isArray(doc.tags) ? doc.tags.filter((t): t is string => typeof t === 'string') : [];
    tags.push(...got);
    const link = nextLink(res.headers.link);
    // A next link that does not move on (a broken registry) ends the walk instead of looping.
    next = link && got.length ? link : undefined;
  }
  return tags.slice(0, max);
}
