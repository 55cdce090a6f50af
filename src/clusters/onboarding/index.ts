/** Public surface of cluster onboarding (`podbus clusters add`). */
export { defaultKubeconfigPath, loadAdminContext, type AdminContext } from './admin-context.js';
export { applyObjects, type AppliedObject, type ApplyOutcome } from './apply.js';
export { upsertClusterEntry, type ClusterFileEntry, type EntryChange } from './clusters-file.js';
export { OnboardingError } from './errors.js';
export {
  DEFAULT_NAMESPACE,
  DEFAULT_SERVICE_ACCOUNT,
  ROLE_RULES,
  describeRules,
  objectList,
  onboardingObjects,
  roleName,
  sameRules,
  tokenSecretName,
  type OnboardingObjects,
  type OnboardingTarget,
} from './objects.js';
export {
  onboardCluster,
  planOnboarding,
  tokenPaths,
  type DryRunReport,
  type FileChange,
  type OnboardOptions,
  type OnboardReport,
} from './onboard.js';
export { parseTokenTtl, requestToken, waitForSecretToken, type IssuedToken } from './token.js';
