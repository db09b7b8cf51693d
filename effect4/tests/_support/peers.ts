// Peers that reset a TCP connection (RST, not FIN), from both sides: with
// node:net in this process, and with python3 (SO_LINGER 0) in a child.
import * as net from "node:net";
import { Effect } from "effect";
import type * as Scope from "effect/Scope";
import { python } from "./process.ts";

/**
 * A loopback TCP peer that answers the first data it receives with an RST,
 * closed with the scope; gives its port. Deno's own close() sends FIN even
 * with unread data, so node:net does the reset.
 */
export const resettingOnData: Effect.Effect<number, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.callback<net.Server>((resume) => {
      const peer = net.createServer((s) => s.once("data", () => s.resetAndDestroy()));
      peer.listen(0, "127.0.0.1", () => resume(Effect.succeed(peer)));
    }),
    (peer) => Effect.sync(() => peer.close()),
  ),
  (peer) => (peer.address() as net.AddressInfo).port,
);

/**
 * A loopback TCP client that sends one byte, waits for any answer, then
 * resets the connection (RST, not FIN); resolves once it has.
 */
export const resettingClient = (port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write("x"));
    socket.once("data", () => {
      socket.resetAndDestroy();
      resolve();
    });
    socket.once("error", reject);
  });

/**
 * A python3 client that sends a partial message, reads at least `readFirst`
 * bytes (or until end of stream), then resets the connection; resolves with
 * the number of bytes it read.
 */
export const pythonResettingClient = (port: number, readFirst: number): Promise<string> =>
  python([
    "import socket, struct",
    `s = socket.create_connection(("127.0.0.1", ${port}))`,
    "s.sendall(b'partial message without end')",
    `got = 0`,
    `while got < ${readFirst}:`,
    "    chunk = s.recv(65536)",
    "    if not chunk: break",
    "    got += len(chunk)",
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))",
    "s.close()",
    "print(got)",
  ].join("\n"));

/**
 * A one-shot python3 server that reads one message and resets the
 * connection; gives its port and its exit status. Killed with the scope.
 */
export const pythonResettingServer: Effect.Effect<
  { readonly port: number; readonly done: Promise<Deno.CommandStatus> },
  never,
  Scope.Scope
> = Effect.map(
  Effect.acquireRelease(
    Effect.promise(async () => {
      const child = new Deno.Command("python3", {
        args: [
          "-c",
          [
            "import socket, struct, sys",
            "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)",
            "print(s.getsockname()[1], flush=True)",
            "c, _ = s.accept(); c.recv(16)",
            "c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); c.close()",
          ].join("\n"),
        ],
        stdout: "piped",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const { value } = await reader.read();
      reader.releaseLock();
      return { child, port: Number(value!.trim()), done: child.status };
    }),
    ({ child }) =>
      Effect.sync(() => {
        try {
          child.kill();
        } catch {
          // already exited
        }
      }),
  ),
  ({ port, done }) => ({ port, done }),
);
