// Types of the generated standalone validators (see scripts/gen-validators.ts).
import type { ValidateFunction } from 'ajv';
export declare const index: ValidateFunction;
export declare const manifest: ValidateFunction;
export declare const config: ValidateFunction;
export declare const descriptor: ValidateFunction;
export declare const layout: ValidateFunction;
export declare const dockerManifest: ValidateFunction;
export declare const dockerList: ValidateFunction;
