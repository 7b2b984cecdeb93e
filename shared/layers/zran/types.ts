import type { RawPoint } from './native.js';

export interface Step {
  consumed: number;
  produced: number;
  points: RawPoint[];
}

/** Inflater.state(): between gzip members (or in zero padding after one), a clean place for a stream to end. */
export const MEMBER_END = 1;

export interface Inflater {
  readonly native: boolean;
  /** Inflates input into output until either runs out; reports the restart points passed. */
  write(input: Buffer, output: Buffer): Promise<Step>;
  state(): number;
  close(): void;
}
