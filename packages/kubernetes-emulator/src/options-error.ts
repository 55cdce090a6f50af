/** A start option or configuration the emulator cannot run with; the message says which. */
export class EmulatorOptionsError extends Error {
  override readonly name = 'EmulatorOptionsError';
}
