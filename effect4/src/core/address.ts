// Socket addresses as plain data: an IP endpoint (host name or IP literal and
// a port; TCP, TLS and UDP share it) or a Unix socket path, parsed from and
// formatted to "127.0.0.1:8080", "[::1]:8080", "localhost:80", "unix:/tmp/x".

/**
 * An IP endpoint: a host name or IP literal and a port. The tag keeps the
 * name `@effect/platform` gives this shape, so the value can be handed to it.
 */
export interface InetAddress {
  /** Discriminator (the shape `@effect/platform` calls `TcpAddress`). */
  readonly _tag: "TcpAddress";
  /** Host name, IPv4 literal, or IPv6 literal without brackets. */
  readonly hostname: string;
  /** Port, 0–65535 (0 asks the OS for a free port when listening). */
  readonly port: number;
}

/** A Unix domain socket endpoint. */
export interface UnixAddress {
  /** Discriminator. */
  readonly _tag: "UnixAddress";
  /** Filesystem path of the socket. */
  readonly path: string;
}

/** Any socket address. */
export type Address = InetAddress | UnixAddress;

/** Why an address was refused: the text given, quoted, and what is wrong with it. */
export class InvalidAddress {
  constructor(readonly address: string, readonly detail: string) {}
}

/** Options for parsing and validating. */
export interface ParseOptions {
  /** Accept port 0 (listen on a free port). Default false: 0 cannot be connected to. */
  readonly allowPortZero?: boolean;
}

/** An IP endpoint (not validated). */
export const inet = (hostname: string, port: number): InetAddress => ({
  _tag: "TcpAddress",
  hostname,
  port,
});

/** A Unix socket address (not validated). */
export const unix = (path: string): UnixAddress => ({ _tag: "UnixAddress", path });

/** `host:port`, `[v6]:port` or `unix:/path`. */
export const format = (address: Address): string => {
  if (address._tag === "UnixAddress") return `unix:${address.path}`;
  return address.hostname.includes(":")
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
};

/** True for an IPv6 literal (with an optional zone), without brackets. */
export const isIpv6 = (host: string): boolean => {
  const zone = host.indexOf("%");
  const bare = zone >= 0 ? host.slice(0, zone) : host;
  if (!/^[0-9A-Fa-f:.]+$/.test(bare) || !bare.includes(":")) return false;
  try {
    new URL(`http://[${bare}]/`);
    return true;
  } catch {
    return false;
  }
};

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** True for a dotted-quad IPv4 literal. */
export const isIpv4 = (host: string): boolean => {
  const match = IPV4.exec(host);
  return match !== null && match.slice(1).every((octet) => Number(octet) <= 255);
};

const HOST_LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/;

const hostProblem = (host: string): string | undefined => {
  if (host.length === 0) return "the host is empty";
  if (host.includes(":")) return isIpv6(host) ? undefined : `"${host}" is not a valid IPv6 address`;
  if (IPV4.test(host)) return isIpv4(host) ? undefined : `"${host}" is not a valid IPv4 address`;
  if (host.length > 253) return "the host name is longer than 253 characters";
  const labels = host.endsWith(".") ? host.slice(0, -1).split(".") : host.split(".");
  if (!labels.every((label) => HOST_LABEL.test(label))) return `"${host}" is not a valid host name`;
  // Digits and dots that are not an IPv4 literal are garbage, not a name.
  return /^[\d.]+$/.test(host) ? `"${host}" is not a valid IPv4 address` : undefined;
};

const portProblem = (port: number, options?: ParseOptions): string | undefined => {
  if (!Number.isInteger(port)) return `port ${port} is not a whole number`;
  if (port < 0 || port > 65535) return `port ${port} is outside 0–65535`;
  if (port === 0 && !options?.allowPortZero) return "port 0 cannot be connected to";
  return undefined;
};

const encoder = new TextEncoder();

const pathProblem = (path: string): string | undefined => {
  if (path.length === 0) return "the unix socket path is empty";
  if (path.includes("\0")) return "the unix socket path contains a NUL byte";
  // sun_path holds 108 bytes including the terminating NUL on Linux.
  if (encoder.encode(path).length > 107) return "the unix socket path is longer than 107 bytes";
  return undefined;
};

/** `address` unchanged, or why it is invalid. */
export const validate = <A extends Address>(
  address: A,
  options?: ParseOptions,
): A | InvalidAddress => {
  const problem = address._tag === "UnixAddress"
    ? pathProblem(address.path)
    : hostProblem(address.hostname) ?? portProblem(address.port, options);
  return problem === undefined ? address : new InvalidAddress(format(address), problem);
};

/** Parses `"host:port"`, `"[v6]:port"` or `"unix:/path"`. */
export const parse = (input: string, options?: ParseOptions): Address | InvalidAddress => {
  const quoted = JSON.stringify(input);
  const text = input.trim();
  if (text.startsWith("unix:")) {
    const path = text.slice("unix:".length);
    const problem = pathProblem(path);
    return problem === undefined ? unix(path) : new InvalidAddress(quoted, problem);
  }
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return new InvalidAddress(quoted, "missing ']' after the IPv6 address");
    host = text.slice(1, close);
    if (text[close + 1] !== ":") return new InvalidAddress(quoted, "expected ':port' after ']'");
    portText = text.slice(close + 2);
    if (!host.includes(":")) return new InvalidAddress(quoted, "brackets are only for IPv6");
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) {
      return new InvalidAddress(quoted, "expected host:port, [v6]:port or unix:/path");
    }
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) {
      return new InvalidAddress(quoted, "an IPv6 address needs brackets: [::1]:port");
    }
  }
  if (!/^\d{1,5}$/.test(portText)) {
    return new InvalidAddress(
      quoted,
      portText === "" ? "the port is missing" : `"${portText}" is not a port number`,
    );
  }
  const result = validate(inet(host, Number(portText)), options);
  return result instanceof InvalidAddress ? new InvalidAddress(quoted, result.detail) : result;
};

/** An address given as text or as a value, validated. */
export const resolve = (
  input: Address | string,
  options?: ParseOptions,
): Address | InvalidAddress =>
  typeof input === "string" ? parse(input, options) : validate(input, options);

/** Converts one of Deno's `Deno.Addr` values. */
export const fromDeno = (addr: Deno.Addr): Address => {
  switch (addr.transport) {
    case "tcp":
    case "udp":
      return inet(addr.hostname, addr.port);
    case "unix":
    case "unixpacket":
      return unix(addr.path);
    default:
      return unix(String((addr as { path?: unknown }).path ?? ""));
  }
};

/** The canonical text of an IPv6 literal (so `0:0::1` reads `::1`); anything else unchanged. */
export const canonicalIpv6 = (host: string): string => {
  try {
    return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  } catch {
    return host;
  }
};

const MAPPED_IPV4 = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/** An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) as IPv4 (`1.2.3.4`); anything else unchanged. */
export const unmapIpv4 = (host: string): string => {
  if (!host.startsWith("::")) return host; // the common case, without a regex
  const match = MAPPED_IPV4.exec(host);
  return match ? match[1] : host;
};

/** True for `localhost` and the loopback addresses (127.0.0.0/8, `::1`). */
export const isLoopback = (host: string): boolean =>
  host === "localhost" || (isIpv4(host) && host.startsWith("127.")) ||
  (isIpv6(host) && canonicalIpv6(host) === "::1");

/** True for a multicast group address (224.0.0.0/4 or ff00::/8). */
export const isMulticast = (host: string): boolean => {
  const v4 = IPV4.exec(host);
  if (v4) return isIpv4(host) && Number(v4[1]) >= 224 && Number(v4[1]) <= 239;
  return isIpv6(host) && /^ff/i.test(canonicalIpv6(host));
};
