// Why: the reader a dump runs inside a rootless container's namespaces (ns-reader.ts) and the
// dumper that starts it (helper.ts) speak one protocol: the answer's fd, and how names, which are
// bytes, cross JSON. Both sides take it from here.

/** The fd the reader writes its answer to: the spawner's fourth stdio entry. */
export const ANSWER_FD = 3;

/** uname's names as JSON carries them: hex (JSON has no bytes; a hostname need not be UTF-8). */
export const namesToHex = (u: { nodename: Uint8Array; domainname: Uint8Array }) => ({ nodename: Buffer.from(u.nodename).toString('hex'), domainname: Buffer.from(u.domainname).toString('hex') });

/** And back. */
export const namesFromHex = (u: { nodename: string; domainname: string }) => ({ nodename: new Uint8Array(Buffer.from(u.nodename, 'hex')), domainname: new Uint8Array(Buffer.from(u.domainname, 'hex')) });
