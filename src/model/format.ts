// Why: constants of the image format that writers need without loading the zod schemas.
export const FORMAT_VERSION = 1;
export const NSDUMP_VERSION = '0.1.0';
