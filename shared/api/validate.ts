import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { CONTRACT, type MethodArgs, type MethodName } from './contract.js';
import { isMethodName } from './names.js';
import type { TSchema } from './schemas.js';

// Argument validation for every method, used by BOTH transports (Electron main before the core, the
// handler table for web mode and the core host) before anything reaches a handler: the contract's
// TypeBox schemas compiled by Ajv, each on first use (one method costs ~1 ms; nobody pays for the rest).
// Ajv's errors become one sentence that names the field ("args.image.sourceId has an invalid format").
// Node side only: the renderer never imports this module (it would bring Ajv's ~120 kB).

let ajv: Ajv | undefined;
const compiled = new WeakMap<TSchema, ValidateFunction>();

function validatorOf(schema: TSchema): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    // allErrors off: the first problem is the one reported, and a union's branches stop at theirs.
    // verbose: errors carry their schema (a discriminator error lists the kinds from it).
    ajv ??= new Ajv({ allErrors: false, strict: true, discriminator: true, verbose: true, coerceTypes: false, useDefaults: false });
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false', object: 'an object', array: 'a list', null: 'null',
};

const clip = (s: string, n = 64): string => (s.length > n ? `${s.slice(0, n)}…` : s);

/** A JSON pointer as the field a user would name: /image/sourceId → args.image.sourceId, /paths/3 → args.paths[3]. */
function fieldOf(pointer: string): string {
  let out = 'args';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : `.${clip(seg)}`;
  }
  return out;
}

function sentence(e: ErrorObject): string {
  const at = fieldOf(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type':
      return `${at} must be ${String(p.type).split(',').map((t) => TYPE_WORDS[t] ?? t).join(' or ')}`;
    case 'additionalProperties':
      return `${at}.${clip(String(p.additionalProperty))} is not a known field`;
    case 'required':
      return `${at}.${String(p.missingProperty)} is required`;
    case 'enum':
      return `${at} must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'const':
      return `${at} must be one of ${String(p.allowedValue)}`;
    case 'minLength':
      return p.limit === 1 ? `${at} must not be empty` : `${at} is shorter than ${String(p.limit)} characters`;
    case 'maxLength':
      return `${at} is longer than ${String(p.limit)} characters`;
    case 'pattern':
      return `${at} has an invalid format`;
    case 'minimum':
      return `${at} must be at least ${String(p.limit)}`;
    case 'maximum':
      return `${at} must be at most ${String(p.limit)}`;
    case 'discriminator': {
      const kinds = ((e.parentSchema as { oneOf?: { properties: { kind: { const: string } } }[] }).oneOf ?? []).map((b) => b.properties.kind.const);
      return p.error === 'tag' ? `${at}.${String(p.tag)} must be a string` : `${at}.${String(p.tag)} must be one of ${kinds.join(', ')}`;
    }
    case 'maxItems':
      return `${at} has more than ${String(p.limit)} items`;
    default:
      return `${at} ${e.message ?? 'is invalid'}`;
  }
}

/**
 * The one sentence for a failed validation. Without allErrors the last error decides; when it is a union
 * (anyOf: unions by `kind` use a discriminator instead), each branch's own last error is explained and the
 * first that is about the value's content is kept; when every branch refused the type, the list of types.
 */
function explain(errors: ErrorObject[]): string {
  const last = errors[errors.length - 1]!;
  if (last.keyword !== 'anyOf') return sentence(last);
  const base = `${last.schemaPath}/`;
  const branches = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    if (!e.schemaPath.startsWith(base)) continue;
    const i = e.schemaPath.slice(base.length).split('/')[0]!;
    let group = branches.get(i);
    if (!group) branches.set(i, (group = []));
    group.push(e);
  }
  const finals = [...branches.values()].map((g) => ({ final: g[g.length - 1]!, text: explain(g) }));
  const typeOnly = (e: ErrorObject) => e.keyword === 'type' && e.instancePath === last.instancePath;
  const specific = finals.find((f) => !typeOnly(f.final));
  if (specific) return specific.text;
  const types = new Set(finals.map((f) => TYPE_WORDS[String((f.final.params as { type: unknown }).type)] ?? 'valid'));
  return types.size ? `${fieldOf(last.instancePath)} must be ${[...types].join(' or ')}` : sentence(last);
}

/** Arguments cross the seam as plain data: an object with another prototype (a class instance) is refused. */
function foreignObjectAt(v: unknown, at: string, depth = 0): string | undefined {
  if (v === null || typeof v !== 'object' || depth > 32) return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = foreignObjectAt(v[i], `${at}[${i}]`, depth + 1);
      if (p) return p;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return `${at} must be an object`;
  for (const [k, x] of Object.entries(v)) {
    const p = foreignObjectAt(x, `${at}.${clip(k)}`, depth + 1);
    if (p) return p;
  }
  return undefined;
}

/** undefined when `value` fits `schema`, else a sentence naming the field (rooted at "args"). */
export function schemaProblem(schema: TSchema, value: unknown): string | undefined {
  const foreign = foreignObjectAt(value, 'args');
  if (foreign) return foreign;
  const v = validatorOf(schema);
  return v(value) ? undefined : explain(v.errors ?? []);
}

/** True when `value` fits `schema` (state.ts keeps the settings fields that do). */
export function fits(schema: TSchema, value: unknown): boolean {
  return validatorOf(schema)(value);
}

/** undefined when `args` fits `method`, else a sentence naming the field. Unknown methods are refused. */
export function argsProblem(method: string, args: unknown): string | undefined {
  if (!isMethodName(method)) return `"${clip(method)}" is not an API method`;
  return schemaProblem(CONTRACT[method].args, args ?? {});
}

/** Narrowing helper for callers that have already checked. */
export function asArgs<M extends MethodName>(_m: M, args: unknown): MethodArgs<M> {
  return (args ?? {}) as MethodArgs<M>;
}
