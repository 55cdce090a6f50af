/** Handle stage: `GET .../pods/<name>/log`, from the simulated containers' state and conventions. */
import { resolveContainer } from '../../pod-connect.js';
import { podResourceType } from '../../pods.js';
import type { ClusterState } from '../../state.js';
import { badRequest } from '../../status.js';
import type { JsonObject } from '../../store.js';
import type { RequestContext } from '../context.js';
import { lookup } from '../objects.js';
import type { Responder } from '../respond.js';

export class PodLogs {
  constructor(
    private readonly state: ClusterState,
    private readonly respond: Responder,
  ) {}

  get(ctx: RequestContext): void {
    const prev = lookup(this.state, podResourceType, ctx.info);
    const pod = prev.parse();
    const containers = (((pod.spec as JsonObject).containers as JsonObject[]) ?? []).map((c) =>
      String(c.name),
    );
    const container = resolveContainer(pod, prev.name, ctx.query.get('container') ?? '');
    const idx = containers.indexOf(container);
    if (idx < 0) throw badRequest(`container ${container} is not valid for pod ${prev.name}`);
    const statuses =
      ((pod.status as JsonObject).containerStatuses as JsonObject[] | undefined) ?? [];
    const cs = statuses.find((s) => s.name === container);
    const state = (cs?.state ?? {}) as JsonObject;
    if (!cs || (state.waiting && !(cs.lastState as JsonObject | undefined)?.terminated)) {
      const reason =
        ((state.waiting as JsonObject | undefined)?.reason as string | undefined) ??
        'ContainerCreating';
      throw badRequest(
        `container "${container}" in pod "${prev.name}" is waiting to start: ${reason}`,
      );
    }
    const spec = ((pod.spec as JsonObject).containers as JsonObject[])[idx] as JsonObject;
    const env = Array.isArray(spec.env) ? (spec.env as JsonObject[]) : [];
    const custom = env.find((e) => e.name === 'PODBUS_EMULATOR_LOG')?.value;
    const lines = [
      typeof custom === 'string'
        ? custom
        : `podbus kubernetes emulator: container ${container} running image ${String(spec.image)}`,
    ];
    const term = state.terminated as JsonObject | undefined;
    if (term) lines.push(`exited with code ${String(term.exitCode)}`);
    this.respond.send(ctx.res, ctx.auditId, 200, lines.join('\n') + '\n', 'text/plain');
  }
}
