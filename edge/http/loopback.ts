/** Addresses only this machine can reach (a host to listen on, or a request's peer address). */
export const isLoopback = (host: string): boolean => {
  const h = host.startsWith('::ffff:') ? host.slice(7) : host; // an IPv4 peer on a dual-stack socket
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
};
