// The portable backend: `node:dgram`, which Deno offers with `--allow-net`
// alone.
import type * as NodeDgram from "node:dgram";
import type { Inbox, OpenPlan, RawDatagramSocket } from "./backend.ts";

let dgramModule: Promise<typeof NodeDgram> | undefined;

/** Binds a node:dgram socket as planned; what it reads goes to `inbox`. */
export const openNode = async (plan: OpenPlan, inbox: Inbox): Promise<RawDatagramSocket> => {
  dgramModule ??= import("node:dgram");
  const dgram = await dgramModule;
  const socket = dgram.createSocket({
    type: plan.family === 6 ? "udp6" : "udp4",
    reuseAddr: plan.reuseAddress,
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      socket.off("listening", onListening);
      try {
        socket.close();
      } catch {
        // never opened
      }
      reject(error);
    };
    const onListening = () => {
      socket.off("error", onError);
      resolve();
    };
    socket.once("error", onError);
    socket.once("listening", onListening);
    try {
      socket.bind({ port: plan.port, address: plan.ip });
    } catch (error) {
      onError(error as Error);
    }
  });
  let closed = false;
  socket.on("message", (msg: Uint8Array, rinfo: NodeDgram.RemoteInfo) => {
    inbox.deliver(msg, rinfo.address, rinfo.port);
  });
  socket.on("error", (error: Error) => inbox.error(error));
  socket.on("close", () => {
    if (!closed) inbox.lost();
  });
  const local = socket.address();
  return {
    hostname: local.address,
    port: local.port,
    send: (bytes, hostname, port, done) => {
      try {
        socket.send(bytes, port, hostname, (error) => done(error ?? null));
      } catch (error) {
        done(error);
      }
    },
    setBroadcast: (on) => void socket.setBroadcast(on),
    join: (group, iface) => void socket.addMembership(group, iface),
    leave: (group, iface) => void socket.dropMembership(group, iface),
    setMulticastTTL: (ttl) => void socket.setMulticastTTL(ttl),
    setMulticastLoopback: (on) => void socket.setMulticastLoopback(on),
    setMulticastInterface: (iface) => void socket.setMulticastInterface(iface),
    close: () => {
      if (closed) return;
      closed = true;
      socket.close();
    },
  };
};
