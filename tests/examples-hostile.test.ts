// Hostile peers against the examples: whatever a peer sends that an example
// shows to a person (datagrams, a server's greeting and echoes, upload
// names, error details) reaches the terminal escaped, never as raw control
// bytes that clear the screen, set the title, write the clipboard (OSC 52),
// act as CSI (C1 0x9b), reverse the text (U+202E) or forge a line.
import * as dgram from "node:dgram";
import * as net from "node:net";
import { describe, expect, it } from "@effect/vitest";
import { Either } from "effect";
import { FileTransfer, Framing } from "../mod.ts";
import { runToEnd, start } from "./_support/examples.ts";

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
  it("udp.ts --serve: a datagram cannot drive the terminal or forge a line", async () => {
    const server = start("udp.ts", NET, ["--serve", "--port", "0"]);
    const socket = dgram.createSocket("udp4");
    try {
      const port = Number(/:(\d+)$/.exec(await server.nextLine())?.[1]);
      expect(port).toBeGreaterThan(0);
      await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
      const from = `127.0.0.1:${socket.address().port}`;
      const send = (data: Uint8Array | string) =>
        new Promise<void>((resolve) => socket.send(data, port, "127.0.0.1", () => resolve()));
      await send(HOSTILE);
      // A lone 0x9b byte is not UTF-8: shown as hex.
      await send(new Uint8Array([0x9b, 0x32, 0x4a]));
      const lines = [await server.nextLine(), await server.nextLine()];
      expect(lines).toEqual([`${from}: ${SHOWN}`, `${from}: <3 bytes: 9b 32 4a>`]);
      lines.forEach(expectSafe);
    } finally {
      socket.close();
      await server.close();
    }
  }, 30_000);

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

  it("upload.ts --serve: hostile names and the errors quoting them are shown escaped", async () => {
    const dir = await Deno.makeTempDir({ prefix: "fibernet-hostile-" });
    const server = start("upload.ts", ["--allow-read", "--allow-write", ...NET], [
      "--serve",
      "--dir",
      `${dir}/uploads`,
      "--port",
      "0",
    ]);
    try {
      const port = Number(/:(\d+)$/.exec(await server.nextLine())?.[1]);
      expect(await server.nextLine()).toMatch(/^limits: /);
      // A header naming the file with every control in HOSTILE: refused, and said so.
      const frame = Either.getOrThrow(
        Framing.lengthPrefixed().encode(JSON.stringify({ name: HOSTILE, size: 1, sha256: "0" })),
      );
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new Uint8Array([...FileTransfer.hello, ...frame]));
      await conn.read(new Uint8Array(1024));
      conn.close();
      const refused = await server.nextLine();
      expect(refused).toMatch(/^refused upload from 127\.0\.0\.1:\d+: invalid file name/);
      expect(refused).toContain("\\x9b31mD\\u202eE");
      expectSafe(refused);
      // C1 and bidi controls hide what a name is, so they are refused too: the sender
      // refuses such a name before it sends anything, in one escaped line.
      const name = "c1\u009b31m\u202etxt.exe";
      await Deno.writeTextFile(`${dir}/file`, "x");
      const sent = await runToEnd("upload.ts", ["--allow-read", ...NET], [
        "--send",
        `${dir}/file`,
        "--to",
        `127.0.0.1:${port}`,
        "--name",
        name,
      ]);
      expect(sent.code, sent.stderr).toBe(1);
      expectSafe(sent.stdout + sent.stderr);
      expect(sent.stderr.trim().split("\n")).toHaveLength(1);
      expect(sent.stderr).toContain('invalid file name ("c1\\x9b31m\\u202etxt.exe")');
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  }, 40_000);

  it("upload.ts --send: a server's refusal is one escaped line", async () => {
    const dir = await Deno.makeTempDir({ prefix: "fibernet-hostile-" });
    const reply = Either.getOrThrow(
      Framing.lengthPrefixed().encode(
        JSON.stringify({ ok: false, reason: "InvalidName", detail: HOSTILE }),
      ),
    );
    const server = await hostileServer(undefined, (socket) => socket.write(reply));
    try {
      await Deno.writeTextFile(`${dir}/f.bin`, "data");
      const sent = await runToEnd("upload.ts", ["--allow-read", ...NET], [
        "--send",
        `${dir}/f.bin`,
        "--to",
        `127.0.0.1:${server.port}`,
      ]);
      expect(sent.code).toBe(1);
      expect(sent.stderr).toBe(
        `upload: invalid file name ("f.bin"): ${SHOWN} [reported by the peer]\n`,
      );
      expectSafe(sent.stdout + sent.stderr);
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  }, 30_000);
});
