// The core's StreamSocket counters, over real loopback sockets.
import { describe, expect, it } from "vitest";
import { StreamSocket, WRITTEN } from "../src/core/mod.ts";

const connected = async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [client, server] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port }),
    listener.accept(),
  ]);
  listener.close();
  return { socket: new StreamSocket(client), peer: server };
};

const until = async (done: () => boolean) => {
  for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe("StreamSocket", () => {
  it("unsentBytes goes back to 0 once handed-over and queued writes are out", async () => {
    const { socket, peer } = await connected();
    try {
      expect(socket.tryWrite(new TextEncoder().encode("hello"), true)).toBe(WRITTEN);
      await until(() => socket.writeWaitingSince === undefined);
      expect(socket.unsentBytes).toBe(0);
      let written = false;
      socket.enqueue(new Uint8Array(100_000), { onWritten: () => void (written = true) });
      expect(socket.unsentBytes).toBeGreaterThan(0);
      const drain = (async () => {
        const buffer = new Uint8Array(65536);
        let got = 0;
        while (got < 100_005) {
          const n = await peer.read(buffer);
          if (n === null) break;
          got += n;
        }
      })();
      await drain;
      await until(() => written);
      expect(socket.unsentBytes).toBe(0);
    } finally {
      socket.close();
      peer.close();
    }
  });
});
