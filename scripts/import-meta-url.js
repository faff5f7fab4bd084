// esbuild inject: some ESM dependencies (e.g. @azure/storage-common) read import.meta.url, which a CommonJS
// bundle does not have; the build defines import.meta.url as this file URL of the bundle itself.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- this runs inside the CommonJS bundle
export const importMetaUrl = require('url').pathToFileURL(__filename).href;
