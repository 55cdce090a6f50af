import { describe, expect, it } from '@jest/globals';

import { effectiveResources } from '../../../src/policy/resources.js';

const defaults = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { cpu: '1', memory: '512Mi' },
};

describe('effectiveResources', () => {
  it('uses the defaults when the message sets nothing', () => {
    expect(effectiveResources(undefined, defaults)).toEqual(defaults);
  });

  it('keeps what the message sets and fills the rest from the defaults', () => {
    expect(effectiveResources({ limits: { memory: '1Gi' } }, defaults)).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '1', memory: '1Gi' },
    });
  });

  it('raises a defaulted limit to a larger requested value (request <= limit stays true)', () => {
    expect(effectiveResources({ requests: { cpu: '1500m' } }, defaults)).toEqual({
      requests: { cpu: '1500m', memory: '128Mi' },
      limits: { cpu: '1500m', memory: '512Mi' },
    });
  });

  it('lowers a defaulted request to a smaller requested limit', () => {
    expect(effectiveResources({ limits: { cpu: '50m', memory: '64Mi' } }, defaults)).toEqual({
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '50m', memory: '64Mi' },
    });
  });

  it('leaves an explicit request above an explicit limit for policy to report', () => {
    expect(effectiveResources({ requests: { cpu: '2' }, limits: { cpu: '1' } }, defaults)).toEqual({
      requests: { cpu: '2', memory: '128Mi' },
      limits: { cpu: '1', memory: '512Mi' },
    });
  });
});
