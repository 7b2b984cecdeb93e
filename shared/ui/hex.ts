// Hex dump rows: "00000010  48 65 6c 6c 6f …  |Hello…|".

export function hexRow(bytes: Uint8Array, start: number, width: number, baseOffset = 0): { offset: string; hex: string; ascii: string } {
  const end = Math.min(bytes.length, start + width);
  let hex = '';
  let ascii = '';
  for (let i = start; i < start + width; i++) {
    if (i < end) {
      const b = bytes[i]!;
      hex += b.toString(16).padStart(2, '0') + ' ';
      ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    } else hex += '   ';
    if ((i - start) % 8 === 7 && i - start + 1 < width) hex += ' ';
  }
  return { offset: (baseOffset + start).toString(16).padStart(8, '0'), hex: hex.trimEnd(), ascii };
}

/** Heuristic: text when there is no NUL and few control bytes in the first 8 KB. */
export function looksLikeText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 8192);
  let ctrl = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0) return false;
    if (b < 0x09 || (b > 0x0d && b < 0x20)) ctrl++;
  }
  return ctrl <= n / 100;
}

const IMAGE_MAGIC: [string, number[]][] = [
  ['image/png', [0x89, 0x50, 0x4e, 0x47]],
  ['image/jpeg', [0xff, 0xd8, 0xff]],
  ['image/gif', [0x47, 0x49, 0x46, 0x38]],
  ['image/webp', [0x52, 0x49, 0x46, 0x46]],
  ['image/x-icon', [0x00, 0x00, 0x01, 0x00]],
];

/** Image MIME type by magic bytes (or .svg name), else undefined. */
export function imageType(bytes: Uint8Array, name: string): string | undefined {
  if (/\.svg$/i.test(name)) return 'image/svg+xml';
  for (const [t, magic] of IMAGE_MAGIC) if (magic.every((m, i) => bytes[i] === m)) return t;
  return undefined;
}

/** Shiki language for a file name (only a few are loaded, lazily). */
export function languageOf(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower === 'dockerfile') return 'dockerfile';
  const ext = lower.slice(lower.lastIndexOf('.') + 1);
  const map: Record<string, string> = {
    sh: 'shellscript', bash: 'shellscript', json: 'json', yaml: 'yaml', yml: 'yaml', py: 'python', js: 'javascript', mjs: 'javascript',
    ts: 'typescript', go: 'go', conf: 'ini', ini: 'ini', toml: 'toml', xml: 'xml', html: 'html', css: 'css', md: 'markdown', c: 'c', h: 'c', rs: 'rust',
  };
  return map[ext];
}
