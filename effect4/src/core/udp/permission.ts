// Deno's sandbox and UDP: node:dgram throws a permission error where nothing
// can catch it, so an endpoint asks before it binds, and explains a refused
// send with the flag to add.
import { format, inet } from "../address.ts";
import { permissionFlags } from "../classify.ts";
import type { Failure, Operation } from "../failure.ts";

/** True when Deno's sandbox lets this program use the address (without prompting). */
export const netGranted = (hostname: string, port: number): boolean => {
  try {
    return Deno.permissions.querySync({ name: "net", host: format(inet(hostname, port)) })
      .state === "granted";
  } catch {
    return true;
  }
};

/** The failure of an operation the sandbox refused, naming the flag that allows it. */
export const notCapable = <R extends "NotCapable">(
  operation: Operation,
  hostname: string,
  port: number,
): Failure<R> => {
  const address = format(inet(hostname, port));
  return {
    reason: "NotCapable" as R,
    operation,
    address,
    detail: `Deno's sandbox refused ${address}; run with ${permissionFlags(address)}`,
  };
};
