/**
 * Rate-limits progress reports: at most one every `ms` (the first at once; those in between are
 * dropped), and `final` always sent (unless it repeats the last one sent).
 */
export function throttleProgress<P>(send: (p: P) => void, ms: number, now: () => number = Date.now): { push(p: P): void; final(p: P): void } {
  let last = -Infinity;
  let sent: string | undefined;
  const emit = (p: P) => {
    sent = JSON.stringify(p);
    send(p);
  };
  return {
    push(p) {
      const t = now();
      if (t - last < ms) return;
      last = t;
      emit(p);
    },
    final(p) {
      if (JSON.stringify(p) !== sent) emit(p);
    },
  };
}
