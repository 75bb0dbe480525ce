// Node counterpart of esbuild's `text` loader (see js/build.mjs): lets the
// tests import js/src/ as written, `import text from '....txt'` included.
// Registered for every test file through `node --import` in package.json.
import { register } from 'node:module';

register('./text-loader-hooks.mjs', import.meta.url);
