/// <reference lib="webworker" />
import { createHighlighterCore, type HighlighterCore } from 'shiki/core';
import { createJavaScriptRegexEngine } from 'shiki/engine/javascript';

// Syntax highlighting off the main thread. Only a handful of grammars, each loaded on first use, and the
// JavaScript regex engine (no WASM) keep the bundle lean.

const LANGS: Record<string, () => Promise<unknown>> = {
  shellscript: () => import('shiki/langs/shellscript.mjs'),
  json: () => import('shiki/langs/json.mjs'),
  yaml: () => import('shiki/langs/yaml.mjs'),
  python: () => import('shiki/langs/python.mjs'),
  javascript: () => import('shiki/langs/javascript.mjs'),
  ini: () => import('shiki/langs/ini.mjs'),
  dockerfile: () => import('shiki/langs/dockerfile.mjs'),
  xml: () => import('shiki/langs/xml.mjs'),
};

let hl: Promise<HighlighterCore> | undefined;
const loaded = new Set<string>();

function highlighter(): Promise<HighlighterCore> {
  hl ??= createHighlighterCore({
    themes: [import('shiki/themes/github-light.mjs'), import('shiki/themes/github-dark.mjs')],
    langs: [],
    engine: createJavaScriptRegexEngine(),
  });
  return hl;
}

export interface HighlightRequest {
  id: number;
  code: string;
  lang: string;
}
export type Tok = [text: string, light?: string, dark?: string];
export interface HighlightResponse {
  id: number;
  lines?: Tok[][];
  error?: string;
}

self.onmessage = async (ev: MessageEvent<HighlightRequest>) => {
  const { id, code, lang } = ev.data;
  try {
    const load = LANGS[lang];
    if (!load) throw new Error(`no grammar for ${lang}`);
    const h = await highlighter();
    if (!loaded.has(lang)) {
      const mod = (await load()) as { default: Parameters<HighlighterCore['loadLanguage']>[0] };
      await h.loadLanguage(mod.default);
      loaded.add(lang);
    }
    const res = h.codeToTokens(code, { lang, themes: { light: 'github-light', dark: 'github-dark' } });
    const lines: Tok[][] = res.tokens.map((line) =>
      line.map((t) => {
        const st = (t.htmlStyle ?? {}) as Record<string, string>;
        return [t.content, st.color, st['--shiki-dark']] as Tok;
      }),
    );
    (self as unknown as Worker).postMessage({ id, lines } satisfies HighlightResponse);
  } catch (e) {
    (self as unknown as Worker).postMessage({ id, error: String(e) } satisfies HighlightResponse);
  }
};
