import { crossChecks } from './checks.js';
import { CLUSTERS } from './clusters-part.js';
import { buildSections, type ConfigPart } from './compile.js';
import type { Config } from './config.js';
import { CONFIG_SCHEMA } from './schema.js';
import { SERVICE_BUS } from './service-bus-part.js';

/** The rest of the schema: sections that only the worker reads, built as the schema shapes them. */
const WORKER_SECTIONS = Object.keys(CONFIG_SCHEMA).filter(
  (key) => !SERVICE_BUS.sections.includes(key) && !CLUSTERS.sections.includes(key),
);

/**
 * The whole Config (`podbus run`, `podbus local`): the other parts, the worker's own sections,
 * and the checks across sections.
 */
export const CONFIG: ConfigPart<Config> = {
  sections: Object.keys(CONFIG_SCHEMA),
  build(options, problems) {
    const serviceBus = SERVICE_BUS.build(options, problems);
    problems.push(...crossChecks(options.get, options.broken));
    const clusters = CLUSTERS.build(options, problems);
    return {
      ...buildSections(options, WORKER_SECTIONS),
      serviceBus,
      azure: buildSections(options, ['azure']).azure,
      clustersFile: clusters.clustersFile,
      clusters: clusters.entries,
    } as unknown as Config;
  },
};
