// Why: what of a recorded network the kernel makes by itself decides both what a restore adds and
// what `diff` compares; one definition for both.

/** IPv6 link-local addresses come from the kernel once a link is up (derived from its MAC), on its own schedule. */
export const kernelMadeAddress = (a: { family: string; scope: number }) => a.family === 'inet6' && a.scope === 253;

const RTPROT_KERNEL = 2;
/** Routes the kernel adds itself with an address (connected prefixes, fe80::/64). */
export const kernelMadeRoute = (r: { protocol: number }) => r.protocol === RTPROT_KERNEL;
