/**
 * What a claim on `$cbs` lets a connection do: Service Bus's three rights. A SAS key here grants
 * all three (the emulator does not model a policy's rights); an Entra ID token grants what the
 * principal's Azure RBAC roles grant (entra.ts).
 */
export type Right = 'Manage' | 'Send' | 'Listen';

export const ALL_RIGHTS: ReadonlySet<Right> = new Set<Right>(['Manage', 'Send', 'Listen']);

/** The built-in data-plane roles, by name and by role definition ID (the same in every tenant). */
export const SERVICE_BUS_ROLES: readonly {
  readonly name: string;
  readonly id: string;
  readonly rights: readonly Right[];
}[] = [
  {
    name: 'Azure Service Bus Data Owner',
    id: '090c5cfd-751d-490a-894a-3ce6f1109419',
    rights: ['Manage', 'Send', 'Listen'],
  },
  {
    name: 'Azure Service Bus Data Sender',
    id: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39',
    rights: ['Send'],
  },
  {
    name: 'Azure Service Bus Data Receiver',
    id: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0',
    rights: ['Listen'],
  },
];

/**
 * The rights of a role given by name (case-insensitive), by ID, or by the full role definition
 * resource ID (`/subscriptions/.../providers/Microsoft.Authorization/roleDefinitions/<id>`);
 * undefined for any other role.
 */
export function rightsOfRole(role: string): readonly Right[] | undefined {
  const key = role.trim().toLowerCase();
  const id = key.slice(key.lastIndexOf('/') + 1);
  return SERVICE_BUS_ROLES.find((r) => r.name.toLowerCase() === key || r.id === id)?.rights;
}
