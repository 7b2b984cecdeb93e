import { create } from 'zustand';
import type { FileView, ImageRef, TreeEntry } from '../../shared/api/contract.js';
import { imageType, looksLikeText } from '../../shared/ui/hex.js';
import { api, errorText } from './api.js';

// The file open in the viewer: one page of bytes at a time (large files are paged by range).

export const PAGE_BYTES = 256 * 1024;
const IMAGE_MAX = 4 * 1024 * 1024;

export type ViewerKind = 'text' | 'hex' | 'image' | 'dir' | 'special';

interface ViewerState {
  entry?: TreeEntry;
  image?: ImageRef;
  view?: FileView;
  kind?: ViewerKind;
  offset: number;
  size: number;
  data?: Uint8Array;
  resolvedPath?: string;
  imageUrl?: string;
  loading: boolean;
  error?: string;
  forceHex: boolean;
  open(image: ImageRef, view: FileView, entry: TreeEntry): Promise<void>;
  page(delta: number): Promise<void>;
  setForceHex(v: boolean): void;
  close(): void;
}

export const useViewer = create<ViewerState>((set, get) => ({
  offset: 0,
  size: 0,
  loading: false,
  forceHex: false,
  async open(image, view, entry) {
    const old = get().imageUrl;
    if (old) URL.revokeObjectURL(old);
    set({ entry, image, view, offset: 0, size: entry.size, data: undefined, imageUrl: undefined, error: undefined, resolvedPath: undefined, forceHex: false });
    if (entry.type === 'dir') return set({ kind: 'dir', loading: false });
    if (entry.type === 'char' || entry.type === 'block' || entry.type === 'fifo') return set({ kind: 'special', loading: false });
    set({ loading: true });
    try {
      // Links report their own size; the core follows them, so ask for a whole page and let it cap.
      const first = await api().readFile({ image, view, path: entry.path, offset: 0, length: PAGE_BYTES });
      if (get().entry !== entry) return;
      const mime = imageType(first.data, entry.name);
      if (mime && first.size <= IMAGE_MAX) {
        const full = first.eof ? first : await api().readFile({ image, view, path: entry.path, offset: 0, length: first.size });
        const url = URL.createObjectURL(new Blob([full.data as Uint8Array<ArrayBuffer>], { type: mime }));
        set({ kind: 'image', data: full.data, imageUrl: url, size: full.size, resolvedPath: full.resolvedPath, loading: false });
        return;
      }
      set({ kind: looksLikeText(first.data) ? 'text' : 'hex', data: first.data, size: first.size, resolvedPath: first.resolvedPath, loading: false });
    } catch (e) {
      if (get().entry === entry) set({ loading: false, error: errorText(e) });
    }
  },
  async page(delta) {
    const { image, view, entry, offset, size } = get();
    if (!image || !view || !entry) return;
    const next = Math.max(0, Math.min(offset + delta * PAGE_BYTES, Math.max(0, size - 1)));
    set({ loading: true });
    try {
      const chunk = await api().readFile({ image, view, path: entry.path, offset: next, length: PAGE_BYTES });
      set({ data: chunk.data, offset: next, loading: false });
    } catch (e) {
      set({ loading: false, error: errorText(e) });
    }
  },
  setForceHex(v) {
    set({ forceHex: v });
  },
  close() {
    const old = get().imageUrl;
    if (old) URL.revokeObjectURL(old);
    set({ entry: undefined, data: undefined, imageUrl: undefined, kind: undefined, error: undefined });
  },
}));
