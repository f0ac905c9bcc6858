// Why: tests run compiled from dist/test/…; every path to the project is resolved from here.
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// The bundle users run (package.json bin), not the per-module build the tests themselves import.
export const CLI = `${ROOT}dist/bin/nsdump.js`;
export const TOPOLOGIES = `${ROOT}fixtures/topologies/`;
