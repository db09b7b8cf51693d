// Hostile peers against the examples: whatever a peer sends that an example
// shows to a person (a server's greeting and echoes) reaches the terminal
// escaped, never as raw control bytes that clear the screen, set the title,
// write the clipboard (OSC 52), act as CSI (C1 0x9b), reverse the text
// (U+202E) or forge a line.
import * as net from "node:net";
import { describe, expect, it } from "@effect/vitest";
import { start } from "./_support/examples.ts";

/** Everything a hostile peer might try, in one string. */
const HOSTILE = "A\x1b[2JB\x1b]52;c;aGk=\x07C\u009b31mD\u202eE\nforged: line";
/** How it must look once escaped. */
const SHOWN = "A\\x1b[2JB\\x1b]52;c;aGk=\\x07C\\x9b31mD\\u202eE\\nforged: line";

/** Controls a terminal acts on (newline aside), bidi controls and line separators. */
// deno-lint-ignore no-control-regex
const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

const expectSafe = (output: string) => {
  expect(RAW.exec(output)?.[0]).toBeUndefined();
  expect(output).not.toMatch(/^forged: line/m);
};

const NET = ["--allow-net=127.0.0.1"];

/** A TCP server on a free loopback port; `onData` answers each connection's data. */
const hostileServer = async (
  greeting: Uint8Array | undefined,
  onData: (socket: net.Socket, data: Uint8Array) => void,
) => {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    if (greeting) socket.write(greeting);
    socket.on("data", (data) => onData(socket, data));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

describe("examples show hostile peer text escaped", () => {
  it("robot.ts --connect: the server's greeting and echoes are shown escaped", async () => {
    const encoder = new TextEncoder();
    // A 10-byte "echo" of controls, for the 10 bytes the client sends.
    const fakeEcho = encoder.encode("\x1b[2J\u009b\u202e\n");
    expect(fakeEcho.length).toBe(10);
    const server = await hostileServer(encoder.encode(`${HOSTILE}\n`), (socket, data) => {
      if (new TextDecoder().decode(data) !== "q") socket.write(fakeEcho);
    });
    const client = start("robot.ts", NET, ["--connect", `127.0.0.1:${server.port}`]);
    try {
      await client.type("abcdefghij\nq\n");
      expect(await client.exitWithin(10_000)).toBe(0);
      const output = await client.rest();
      expectSafe(output);
      expect(output).toContain(`${SHOWN}\n`);
      expect(output).toContain("\\x1b[2J\\x9b\\u202e\\n\n");
    } finally {
      await client.close();
      await server.close();
    }
  }, 30_000);
});
