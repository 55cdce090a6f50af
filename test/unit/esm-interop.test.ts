import { describe, expect, it } from '@jest/globals';

// Guards the module decision recorded in the README: client-node 2.x is ESM-only and the
// Service Bus SDK is dual; both must load in the same jest ESM run on Node 24.
describe('module setup', () => {
  it('loads @kubernetes/client-node 2.x and @azure/service-bus side by side', async () => {
    const k8s = await import('@kubernetes/client-node');
    const sb = await import('@azure/service-bus');
    expect(typeof k8s.KubeConfig).toBe('function');
    expect(typeof sb.ServiceBusClient).toBe('function');
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });
});
