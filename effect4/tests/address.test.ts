import { describe, expect, it } from "@effect/vitest";
import { Effect, Result } from "effect";
import { Address, SocketError } from "../mod.ts";

describe("Address", () => {
  it.effect("parses and formats every form", () =>
    Effect.gen(function* () {
      for (
        const [text, expected] of [
          ["127.0.0.1:8080", Address.inet("127.0.0.1", 8080)],
          ["[::1]:8080", Address.inet("::1", 8080)],
          ["localhost:80", Address.inet("localhost", 80)],
          ["unix:/tmp/x.sock", Address.unix("/tmp/x.sock")],
          ["[fe80::1%eth0]:9", Address.inet("fe80::1%eth0", 9)],
          ["example.com.:65535", Address.inet("example.com.", 65535)],
        ] as const
      ) {
        const parsed = yield* Address.parse(text);
        expect(parsed).toEqual(expected);
        expect(Address.format(parsed)).toBe(text);
      }
    }));

  it.effect("rejects bad input with a typed error that says what is wrong", () =>
    Effect.gen(function* () {
      const cases: Array<[string, RegExp]> = [
        ["127.0.0.1:0", /port 0/],
        ["127.0.0.1:65536", /outside 0–65535/],
        [":80", /host is empty/],
        ["garbage", /expected host:port/],
        ["1.2.3.999:80", /not a valid IPv4/],
        ["::1:80", /needs brackets/],
        ["[::1]80", /expected ':port'/],
        ["[::1:80", /missing '\]'/],
        ["host:abc", /not a port number/],
        ["host:", /port is missing/],
        ["bad_host!:80", /not a valid host name/],
        ["[zz::1]:80", /not a valid IPv6/],
        ["unix:", /path is empty/],
        [`unix:/${"x".repeat(200)}`, /longer than 107/],
      ];
      for (const [text, message] of cases) {
        const error = yield* Effect.flip(Address.parse(text));
        expect(error).toBeInstanceOf(SocketError.SocketError);
        expect(error.reason).toBe("InvalidAddress");
        expect(error.message).toMatch(message);
      }
    }));

  it("allows port 0 only when asked (listen)", () => {
    expect(Result.isSuccess(Address.parseResult("127.0.0.1:0", { allowPortZero: true }))).toBe(
      true,
    );
    expect(Result.isFailure(Address.parseResult("127.0.0.1:0"))).toBe(true);
  });

  it("converts Deno addresses", () => {
    expect(Address.fromDeno({ transport: "tcp", hostname: "::1", port: 5 })).toEqual(
      Address.inet("::1", 5),
    );
    expect(Address.fromDeno({ transport: "unix", path: "/p" })).toEqual(Address.unix("/p"));
  });
});

describe("SocketError.reasonOf", () => {
  it("maps every Deno error class in the design table", () => {
    const e = Deno.errors;
    const table: Array<[unknown, SocketError.Reason]> = [
      [new e.ConnectionRefused("x"), "ConnectionRefused"],
      [new e.AddrInUse("x"), "AddressInUse"],
      [new e.PermissionDenied("x"), "PermissionDenied"],
      [new e.NotCapable("x"), "NotCapable"],
      [new e.BadResource("x"), "Closed"],
      [new e.TimedOut("x"), "TimedOut"],
      [new e.ConnectionReset("x"), "ConnectionReset"],
      [new e.BrokenPipe("x"), "BrokenPipe"],
      [new e.NotConnected("x"), "ConnectionReset"],
      [new e.NotFound("x"), "NotFound"],
      [
        new Error("failed to lookup address information: Name or service not known"),
        "HostNotFound",
      ],
      [new RangeError("port out of range"), "InvalidAddress"],
      [Object.assign(new Error("too big"), { code: "EMSGSIZE" }), "InvalidData"],
      [Object.assign(new Error("Too many open files"), { code: "EMFILE" }), "ResourceExhausted"],
      [new DOMException("t", "TimeoutError"), "TimedOut"],
      [new DOMException("a", "AbortError"), "Closed"],
      [new Error("something else"), "Unknown"],
    ];
    for (const [error, reason] of table) expect(SocketError.reasonOf(error)).toBe(reason);
  });

  it("keeps the cause and narrows to the allowed reasons", () => {
    const cause = new Deno.errors.AddrInUse("in use");
    const error = SocketError.fromUnknown(cause, "write", "1.2.3.4:5", new Set(["BrokenPipe"]));
    expect(error.reason).toBe("Unknown");
    expect(error.cause).toBe(cause);
    expect(error.message).toContain("write 1.2.3.4:5");
  });

  it("tells which flag is missing for NotCapable", () => {
    const error = SocketError.fromUnknown(
      new Deno.errors.NotCapable('Requires net access to "10.0.0.1:80"'),
      "connect",
      "10.0.0.1:80",
    );
    expect(error.reason).toBe("NotCapable");
    expect(error.message).toContain("--allow-net=10.0.0.1");
  });
});
