// Why: sysctls travel as names (kernel.shmmax, net.ipv4.ip_forward) and values as the kernel
// prints them; one spelling of which /proc/sys file a name is and of how a value compares, for the
// readers, the state writer and the ipc defaults alike.

/** The /proc/sys file of a sysctl name: dots are directories. */
export const sysctlPath = (name: string): string => `/proc/sys/${name.replace(/\./g, '/')}`;

/** A value as read from /proc/sys, each run of whitespace as one space (kernel.sem separates its four with tabs). */
export const sysctlValue = (text: string): string => text.trim().split(/\s+/).join(' ');
