/**
 * The Host allow-list: every request names the sandbox itself in `Host`, so a web page that rebinds its own DNS name
 * to 127.0.0.1 is refused before any work is done.
 */

/** What a request's `Host` says it is for. */
export type HostVerdict =
  | { readonly kind: 'sandbox' }
  | { readonly kind: 'load-balancer'; readonly name: string }
  | { readonly kind: 'refused'; readonly message: string };

/**
 * Whether `host` names this sandbox: `127.0.0.1:<port>` or `localhost:<port>` (the API, control routes, git), or
 * `<name>.elb.localhost[:<any port>]` (a load balancer's data plane; `*.localhost` always resolves to loopback, so
 * no web page can own such a name). Anything else is refused: a page whose DNS name was rebound to 127.0.0.1
 * still sends its own name.
 *
 * @example
 * checkHost('evil.example:4566', 4566).kind // 'refused'
 */
export function checkHost(host: string | undefined, port: number): HostVerdict {
  const allowed = `127.0.0.1:${port} or localhost:${port} (or <load balancer>.elb.localhost for its listeners)`;
  if (!host) {
    return { kind: 'refused', message: `The sandbox needs a Host header naming it: ${allowed}` };
  }
  const lower = host.toLowerCase();
  const match = /^([a-z0-9.-]+?)\.?(?::(\d{1,5}))?$/.exec(lower);
  const name = match?.[1];
  const given = match?.[2] === undefined ? 80 : Number(match[2]);
  if (name?.endsWith('.elb.localhost') && name.length > '.elb.localhost'.length) {
    return { kind: 'load-balancer', name };
  }
  if ((name === '127.0.0.1' || name === 'localhost') && given === port) return { kind: 'sandbox' };
  return {
    kind: 'refused',
    message:
      `The sandbox answers only requests for ${allowed}, not Host '${host.slice(0, 100)}'. ` +
      'Call it by its endpoint; a foreign Host is how a web page would reach it through DNS rebinding',
  };
}
