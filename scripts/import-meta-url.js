// esbuild inject: some ESM dependencies (e.g. @azure/storage-common) read import.meta.url, which a CommonJS
// bundle does not have; the build defines import.meta.url as this file URL of the bundle itself.
export const importMetaUrl = require('url').pathToFileURL(__filename).href;
