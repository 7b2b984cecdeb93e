// Placeholder signature; the implementation lands with the schema work (see docs/architecture.md).
export type DocType = 'index' | 'manifest' | 'config' | 'descriptor' | 'layout';

export interface SchemaViolation {
  /** JSON pointer of the failing field, e.g. `/layers/0/digest` ("" for the document). */
  path: string;
  message: string;
}

/** Validates one parsed document against image-spec's rules (schema plus the rules the schema cannot say). */
export function validateDocument(_doc: unknown, _type: DocType): SchemaViolation[] {
  return [];
}

/** Guesses the document type from its mediaType field (and shape when there is none). */
export function guessDocType(doc: unknown): DocType | undefined {
  void doc;
  return undefined;
}
