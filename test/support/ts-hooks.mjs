// Lets plain `node --experimental-transform-types --conditions=podbus-source --import <this
// file>` run podbus's TypeScript sources directly: the sources import each other with `.js`
// specifiers, as NodeNext wants, and the `podbus-source` condition resolves the emulator
// packages to their sources too. Tests that run the real `podbus` entry point in a child
// process use it, so they need no prior `npm run build`.
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { URL, fileURLToPath } from 'node:url';

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (
      (specifier.startsWith('./') || specifier.startsWith('../')) &&
      specifier.endsWith('.js') &&
      context.parentURL?.endsWith('.ts')
    ) {
      const candidate = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
      if (existsSync(fileURLToPath(candidate))) return nextResolve(candidate.href, context);
    }
    return nextResolve(specifier, context);
  },
});
