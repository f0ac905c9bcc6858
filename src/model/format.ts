// Why: constants of the image format that writers need without loading the zod schemas.
/**
 * The image format this nsdump writes. One bump per release that changes it; every older version
 * keeps being read (fields it lacks read as their defaults).
 *   1 — nsdump 0.1.0.
 *   2 — network routes of every table a rule looks up, policy rules, changed net sysctls and
 *       link details (veth peers, masters, vlans, macvlans); per-process credentials; the
 *       inventory's unreadable pids, and root pid 0 for a whole-host (--all) image.
 */
export const FORMAT_VERSION = 2;
/** The versions this nsdump reads. */
export const READABLE_FORMAT_VERSIONS: readonly number[] = [1, 2];
export const NSDUMP_VERSION = '0.1.0';
