// Why: the plan's format version, apart from its zod schema (schema.ts), so that planning and
// restoring do not construct the schema's ~40 validators at start-up only to stamp a number
// (4-8 ms of every plan and restore); the schema and the JSON contract use the same constant.
export const PLAN_VERSION = 2;
