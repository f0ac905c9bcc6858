// Why: tests run compiled from dist/test/…; every path to the project is resolved from here.
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = `${ROOT}dist/src/cli/main.js`;
export const TOPOLOGIES = `${ROOT}fixtures/topologies/`;
