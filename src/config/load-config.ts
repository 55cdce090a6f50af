import { CLUSTERS, CLUSTERS_SOURCE } from './clusters-part.js';
import { compile } from './compile.js';
import type { ClusterSettings, ClustersSource, Config, ServiceBusSettings } from './config.js';
import { CONFIG } from './config-part.js';
import { gather } from './gather.js';
import { SERVICE_BUS } from './service-bus-part.js';
import type { ConfigSources } from './sources.js';

/**
 * The entry points: each command gathers the same sources the same way (gather.ts) and compiles
 * the part of the schema it needs (compile.ts). Each throws a ConfigError listing every problem
 * (path, what is wrong, where the value came from, how to fix it) and never a sensitive value;
 * each reads files (the config file, the clusters file, and checks that token/CA files are
 * readable) but connects to nothing.
 */

/** The one Config of a worker process (`podbus run`, `podbus local`). */
export function loadConfig(sources: ConfigSources = {}): Config {
  return compile(gather(sources), CONFIG);
}

/** Just the serviceBus section (`podbus enqueue`, `podbus dlq`): no allowlist, no clusters. */
export function loadServiceBusSettings(sources: ConfigSources = {}): ServiceBusSettings {
  return compile(gather(sources), SERVICE_BUS);
}

/** Which clusters file or inline list the configuration names (`podbus clusters add`). */
export function resolveClustersSource(sources: ConfigSources = {}): ClustersSource {
  return compile(gather(sources), CLUSTERS_SOURCE);
}

/** The validated cluster entries, as the worker validates them (`podbus clusters verify`). */
export function loadClusterSettings(sources: ConfigSources = {}): ClusterSettings {
  return compile(gather(sources), CLUSTERS);
}

/**
 * The serviceBus section and the clusters together (`podbus status`), checked in one go so that
 * one ConfigError lists the problems of both.
 */
export function loadServiceBusAndClusterSettings(sources: ConfigSources = {}): {
  readonly serviceBus: ServiceBusSettings;
  readonly clusters: ClusterSettings;
} {
  return compile(gather(sources), {
    sections: [...SERVICE_BUS.sections, ...CLUSTERS.sections],
    build: (options, problems) => ({
      serviceBus: SERVICE_BUS.build(options, problems),
      clusters: CLUSTERS.build(options, problems),
    }),
  });
}
