/* eslint-disable @typescript-eslint/no-require-imports -- electron-builder require()s its hooks, so this file is CommonJS. */
// electron-builder afterPack hook: flips Electron fuses in the packed binary before it is signed or
// wrapped into an installer. CommonJS because electron-builder require()s hooks; @electron/fuses is ESM.
//   RunAsNode off                      ELECTRON_RUN_AS_NODE cannot turn the app into a node binary
//   EnableNodeOptionsEnvironmentVariable off, EnableNodeCliInspectArguments off
//   EnableEmbeddedAsarIntegrityValidation on, OnlyLoadAppFromAsar on
//   GrantFileProtocolExtraPrivileges off (the UI is served from app://, file:// needs no privileges)
//   EnableCookieEncryption on
const path = require('node:path');
const { pathToFileURL } = require('node:url');

/** @electron/fuses is ESM-only: resolve it (beside this file, the project, or NODE_PATH) and import it. */
async function loadFuses() {
  const paths = [__dirname, process.cwd(), ...(process.env.NODE_PATH ?? '').split(path.delimiter).filter(Boolean)];
  return import(pathToFileURL(require.resolve('@electron/fuses', { paths })).href);
}

/** Path of the Electron binary inside the packed app, per platform. */
function binaryOf(context) {
  const { electronPlatformName: platform, appOutDir, packager } = context;
  const product = packager.appInfo.productFilename;
  if (platform === 'darwin' || platform === 'mas') return path.join(appOutDir, `${product}.app`);
  if (platform === 'win32') return path.join(appOutDir, `${product}.exe`);
  return path.join(appOutDir, packager.executableName);
}

async function afterPack(context) {
  const { flipFuses, FuseV1Options, FuseVersion } = await loadFuses();
  const binary = binaryOf(context);
  await flipFuses(binary, {
    version: FuseVersion.V1,
    resetAdHocDarwinSignature: context.electronPlatformName === 'darwin' && context.arch === 3 /* arm64 */,
    [FuseV1Options.RunAsNode]: false,
    [FuseV1Options.EnableCookieEncryption]: true,
    [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
    [FuseV1Options.EnableNodeCliInspectArguments]: false,
    [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
    [FuseV1Options.OnlyLoadAppFromAsar]: true,
    [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
  });
}

module.exports = afterPack;
module.exports.default = afterPack;
module.exports.binaryOf = binaryOf;
