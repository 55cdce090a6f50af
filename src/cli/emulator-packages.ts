/**
 * The emulators are packages of their own (packages/*-emulator). podbus loads them only for
 * `podbus local` and `podbus emulator ...`, so the worker runs without them: the production
 * image does not contain them, and these loaders say how to get them instead of a module
 * resolution error.
 */
import type * as KubernetesEmulatorModule from '@podbus/kubernetes-emulator';
import type * as ServiceBusEmulatorModule from '@podbus/servicebus-emulator';

export const SERVICE_BUS_EMULATOR = '@podbus/servicebus-emulator';
export const KUBERNETES_EMULATOR = '@podbus/kubernetes-emulator';
export const ENTRA_EMULATOR = '@podbus/entra-emulator';

export type ServiceBusEmulatorPackage = typeof ServiceBusEmulatorModule;
export type KubernetesEmulatorPackage = typeof KubernetesEmulatorModule;

/** What an emulator package's `./cli` entry exports. */
export interface EmulatorCli {
  main(argv: readonly string[], options: { name: string }): Promise<number>;
}

export const loadServiceBusEmulator = (usedBy: string): Promise<ServiceBusEmulatorPackage> =>
  load(SERVICE_BUS_EMULATOR, usedBy, () => import('@podbus/servicebus-emulator'));

export const loadKubernetesEmulator = (usedBy: string): Promise<KubernetesEmulatorPackage> =>
  load(KUBERNETES_EMULATOR, usedBy, () => import('@podbus/kubernetes-emulator'));

export const loadEmulatorCli = (pkg: string, usedBy: string): Promise<EmulatorCli> =>
  load(pkg, usedBy, () => import(`${pkg}/cli`) as Promise<EmulatorCli>);

async function load<T>(pkg: string, usedBy: string, importIt: () => Promise<T>): Promise<T> {
  try {
    return await importIt();
  } catch (error) {
    if (!isMissing(error, pkg)) throw error;
    throw new Error(
      `${usedBy} needs the ${pkg} package, which this installation does not have (the podbus ` +
        `container image ships without the emulators). Run the emulator with npx ${pkg} ` +
        '(Node.js 22 or later), or use podbus from a clone of its repository: npm ci, then ' +
        `npm run podbus -- ${usedBy.replace(/^podbus /, '')}.`,
      { cause: error },
    );
  }
}

/** The package itself is absent (not one of its own imports failing: that is a real error). */
function isMissing(error: unknown, pkg: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    code === 'ERR_MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`'${pkg}`)
  );
}
