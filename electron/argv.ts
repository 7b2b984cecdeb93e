// The source given on the command line: `oci-explorer PATH` (packaged) or `electron . PATH` (dev).
// Chromium/Electron switches (--foo) and the app path are skipped.
export function sourceFromArgv(argv: readonly string[], isPackaged: boolean): string | undefined {
  const rest = argv.slice(isPackaged ? 1 : 2);
  return rest.find((a) => a.length > 0 && !a.startsWith('-'));
}
