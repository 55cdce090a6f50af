// Lets plain `node --experimental-transform-types --import <this file>` run the TypeScript
// sources directly (the sources import each other with `.js` specifiers, as NodeNext wants).
// The CLI integration test uses it to run the real `servicebus-emulator` entry point in a child process
// without a prior `npm run build`.
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
