import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ExplorerError } from '../errors.js';
import { buildGraphContext, type GraphContext } from '../graph/build.js';
import { selectImage, type ImageChoice } from '../graph/select.js';
import type { ImageEntry } from '../graph/types.js';
import { defaultCacheDir } from '../layers/store.js';
import { openSource, type OpenedSource } from '../sources/open.js';
import type { CliIO } from './io.js';

// Option parsing shared by every command: `--flag`, `--opt value`, `--opt=value`, `-h`, and `--`
// to end options. Unknown options are errors (exit 2), never silently ignored.

export interface OptionSpec {
  /** `boolean` takes no value; `string` takes the next argument (or `=value`). */
  type: 'boolean' | 'string';
  /** One-letter alias, e.g. `h` for `--help`. */
  short?: string;
}

export interface ParsedArgs {
  positionals: string[];
  options: Record<string, string | boolean | undefined>;
}

/** Parses argv against a spec; throws ExplorerError INVALID_ARGUMENT with the offending option. */
export function parseArgs(argv: string[], spec: Record<string, OptionSpec>): ParsedArgs {
  const positionals: string[] = [];
  const options: Record<string, string | boolean | undefined> = {};
  const byShort = new Map(Object.entries(spec).filter(([, s]) => s.short).map(([k, s]) => [s.short!, k]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let value: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      if (eq >= 0) value = a.slice(eq + 1);
    } else if (/^-[A-Za-z]$/.test(a)) {
      name = byShort.get(a.slice(1));
      if (!name) throw usageError(`Unknown option ${a}.`);
    } else {
      positionals.push(a);
      continue;
    }
    const s = spec[name];
    if (!s) throw usageError(`Unknown option --${name}.`);
    if (s.type === 'boolean') {
      if (value !== undefined) throw usageError(`Option --${name} takes no value.`);
      options[name] = true;
    } else {
      if (value === undefined) {
        value = argv[++i];
        if (value === undefined || (value.startsWith('--') && value.length > 2)) throw usageError(`Option --${name} needs a value.`);
      }
      options[name] = value;
    }
  }
  return { positionals, options };
}

export function usageError(message: string): ExplorerError {
  return new ExplorerError('INVALID_ARGUMENT', `${message} Run with --help to see the usage.`);
}

/** Options that pick one image, shared by the commands that act on one image (ls, diff, cat…). */
export const IMAGE_OPTIONS: Record<string, OptionSpec> = {
  image: { type: 'string' },
  platform: { type: 'string' },
  // Registry references: plain HTTP / unverified TLS for a registry that is not on this machine.
  insecure: { type: 'boolean' },
};

/** The image choice from `--image`, `--platform` and the source's selector (`oci:PATH:TAG`). */
export function imageChoice(args: ParsedArgs, opened: OpenedSource): ImageChoice {
  const c: ImageChoice = {};
  if (typeof args.options.image === 'string') c.digest = args.options.image;
  if (typeof args.options.platform === 'string') c.platform = args.options.platform;
  if (opened.selector.tag) c.tag = opened.selector.tag;
  return c;
}

/** Opens a `<source>` argument, with relative paths taken against io.cwd (and io.env's cache root for registry references). */
export async function openSourceArg(spec: string, io: CliIO, signal?: AbortSignal, opts: { insecure?: boolean } = {}): Promise<OpenedSource> {
  const m = /^(oci|oci-archive|docker-archive):(.*)$/s.exec(spec);
  const abs = (p: string): string => (p && !path.isAbsolute(p) && !p.startsWith('~') ? path.resolve(io.cwd, p) : p);
  const resolved = m ? `${m[1]}:${abs(m[2]!)}` : await existingOr(spec, abs(spec));
  return openSource(resolved, { env: io.env, cwd: io.cwd, cacheDir: defaultCacheDir(io.env), ...(signal ? { signal } : {}), ...(opts.insecure ? { insecure: true } : {}) });
}

/** A relative path is taken against cwd when it exists; else it stays as given (openSource says what is wrong). */
async function existingOr(spec: string, absolute: string): Promise<string> {
  return (await fsp.stat(absolute).catch(() => undefined)) ? absolute : spec;
}

export interface OpenedImage {
  opened: OpenedSource;
  context: GraphContext;
  image: ImageEntry;
  close(): Promise<void>;
}

/**
 * For commands that act on one image (ls, diff, cat, extract…): opens `<source>`, builds the graph and
 * picks the image from `oci:PATH:TAG` / `docker-archive:PATH:REPO:TAG`, `--image` and `--platform`
 * (parse them with IMAGE_OPTIONS). Throws IMAGE_NOT_FOUND / IMAGE_AMBIGUOUS with the choices.
 */
export async function openImageArg(spec: string, args: ParsedArgs, io: CliIO, signal?: AbortSignal): Promise<OpenedImage> {
  const opened = await openSourceArg(spec, io, signal, { insecure: args.options.insecure === true });
  try {
    const context = await buildGraphContext(opened.source, signal ? { signal } : {});
    const image = selectImage(context.graph, imageChoice(args, opened));
    return { opened, context, image, close: () => opened.source.close() };
  } catch (e) {
    await opened.source.close();
    throw e;
  }
}
