// The core's DatagramEndpoint driven as its own users drive it, with
// callbacks and promises and no Effect, over real sockets on loopback.
import { afterEach, describe, expect, it } from "vitest";
import {
  availableBackends,
  type Backend,
  type Datagram,
  DatagramEndpoint,
  type DatagramEndpointOptions,
  PENDING,
  type ReceiveWaiter,
} from "../src/core/mod.ts";
import type { Failure } from "../src/core/failure.ts";
import { failureMessage } from "../src/core/failure.ts";
import { hasIpv6 } from "./_support/net.ts";
import { repoPath } from "./_support/paths.ts";

const backends = availableBackends();
const hosts = hasIpv6 ? ["127.0.0.1", "::1"] : ["127.0.0.1"];
const any = (host: string) => (host.includes(":") ? `[${host}]:0` : `${host}:0`);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

const opened: Array<DatagramEndpoint> = [];
afterEach(() => {
  for (const endpoint of opened.splice(0)) endpoint.close();
});

/** Binds, failing the test with the failure's message if it cannot. */
const bind = async (address: string, options?: DatagramEndpointOptions) => {
  const endpoint = await DatagramEndpoint.bind(address, options);
  if (!(endpoint instanceof DatagramEndpoint)) throw new Error(failureMessage(endpoint));
  opened.push(endpoint);
  return endpoint;
};

/** How a send ended: undefined when sent, else its failure (at once or later). */
const send = (
  from: DatagramEndpoint,
  data: Uint8Array | string,
  to?: string | DatagramEndpoint["address"],
) =>
  new Promise<Failure | undefined>((resolve) => {
    const refused = from.send(data, to, { onSent: resolve });
    if (refused !== PENDING) resolve(refused);
  });

/** The next datagram (or null once closed), waiting at most 5 s. */
const next = (endpoint: DatagramEndpoint) =>
  new Promise<Datagram | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      endpoint.cancelReceive(waiter);
      reject(new Error("no datagram within 5 s"));
    }, 5000);
    const waiter: ReceiveWaiter = {
      onReceivable() {
        const result = endpoint.pollReceive(waiter);
        if (result === PENDING) return;
        clearTimeout(timer);
        resolve(result);
      },
    };
    waiter.onReceivable();
  });

/** A waiter that counts how often it was told. */
const counting = () => {
  const waiter = { told: 0, onReceivable: () => void waiter.told++ };
  return waiter;
};

/** Waits until `endpoint` has queued `n` datagrams (at most 5 s). */
const queued = async (endpoint: DatagramEndpoint, n: number) => {
  for (let i = 0; i < 500 && endpoint.stats.queued < n; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(endpoint.stats.queued).toBe(n);
};

describe.each(backends)("DatagramEndpoint over %s", (backend: Backend) => {
  const options = { backend } as const;

  it("carries a datagram and its sender on 127.0.0.1 and ::1, and counts it", async () => {
    for (const host of hosts) {
      const a = await bind(any(host), options);
      const b = await bind(any(host), options);
      expect(a.backend).toBe(backend);
      expect(a.address.hostname).toBe(host);
      expect(a.address.port).toBeGreaterThan(0);
      expect(await send(b, "ping 你好", a.address)).toBeUndefined();
      const got = await next(a);
      expect(got === null ? null : text(got.data)).toBe("ping 你好");
      expect(got?.from).toEqual(b.address);
      expect(b.stats.sent).toBe(1);
      expect(b.stats.bytesSent).toBe(new TextEncoder().encode("ping 你好").length);
      expect(a.stats).toMatchObject({ received: 1, delivered: 1, queued: 0, dropped: 0 });
    }
  });

  it("refuses at once, without sending, what cannot be sent", async () => {
    const a = await bind("127.0.0.1:0", options);
    const b = await bind("127.0.0.1:0", options);
    const waiter = { calls: 0, onSent: () => void waiter.calls++ };
    const cases: Array<[Uint8Array | string, string | undefined, string]> = [
      [new Uint8Array(65508), `127.0.0.1:${a.address.port}`, "InvalidData"],
      ["x", "127.0.0.1:0", "InvalidAddress"],
      ["x", "unix:/tmp/x.sock", "InvalidAddress"],
      ["x", "nonsense", "InvalidAddress"],
      ["x", "[::1]:9", "InvalidAddress"],
      ["x", undefined, "InvalidAddress"], // a bound endpoint has no peer
    ];
    for (const [data, to, reason] of cases) {
      const refused = b.send(data, to, waiter);
      expect(refused === PENDING ? "PENDING" : refused.reason, String(to)).toBe(reason);
    }
    expect(waiter.calls).toBe(0);
    expect(b.stats.sent).toBe(0);
    // Nothing went out: the first datagram a sees is this one.
    expect(await send(b, "sentinel", a.address)).toBeUndefined();
    expect(text((await next(a))!.data)).toBe("sentinel");
  });

  it("tells one waiter per datagram, in order; a cancelled waiter hears nothing and loses nothing", async () => {
    const a = await bind("127.0.0.1:0", options);
    const b = await bind("127.0.0.1:0", options);
    const first = counting();
    const second = counting();
    expect(a.pollReceive(first)).toBe(PENDING);
    expect(a.pollReceive(second)).toBe(PENDING);
    a.cancelReceive(first);
    await send(b, "one", a.address);
    await queued(a, 1);
    expect([first.told, second.told]).toEqual([0, 1]);
    const got = a.pollReceive();
    expect(got !== PENDING && got !== null && text(got.data)).toBe("one");

    // A waiter that goes away before the datagram comes: it stays queued.
    const gone = counting();
    expect(a.pollReceive(gone)).toBe(PENDING);
    a.cancelReceive(gone);
    await send(b, "two", a.address);
    await queued(a, 1);
    expect(gone.told).toBe(0);
    const kept = a.pollReceive();
    expect(kept !== PENDING && kept !== null && text(kept.data)).toBe("two");
    expect(a.stats.delivered).toBe(2);
  });

  it("a told waiter that will not poll passes the wake-up on to the next one", async () => {
    const a = await bind("127.0.0.1:0", options);
    const b = await bind("127.0.0.1:0", options);
    const first = counting();
    const second = counting();
    a.pollReceive(first);
    a.pollReceive(second);
    await send(b, "only", a.address);
    await queued(a, 1);
    expect([first.told, second.told]).toEqual([1, 0]);
    a.cancelReceive(first); // e.g. its fiber was interrupted before it polled
    expect(second.told).toBe(1);
    const got = a.pollReceive();
    expect(got !== PENDING && got !== null && text(got.data)).toBe("only");
  });

  it("close tells every waiter; then receives return null and sends and options fail Closed", async () => {
    const a = await bind("127.0.0.1:0", options);
    const b = await bind("127.0.0.1:0", options);
    await send(b, "queued", a.address);
    await queued(a, 1);
    const waiting = next(b);
    const other = counting();
    expect(b.pollReceive(other)).toBe(PENDING);
    b.close();
    expect(await waiting).toBeNull();
    expect(other.told).toBe(1);
    expect(b.pollReceive()).toBeNull();
    expect(b.isClosed).toBe(true);
    expect((await send(b, "x", a.address))?.reason).toBe("Closed");
    expect((await b.setBroadcast(true))?.reason).toBe("Closed");
    b.close(); // idempotent
    // Closing discards what was queued.
    a.close();
    expect(a.stats.queued).toBe(0);
    expect(a.pollReceive()).toBeNull();
  });

  it("a connected endpoint sends to its peer and discards, counting, anyone else's datagrams", async () => {
    const a = await bind("127.0.0.1:0", options);
    const intruder = await bind("127.0.0.1:0", options);
    const c = await DatagramEndpoint.connect(a.address, options);
    if (!(c instanceof DatagramEndpoint)) throw new Error(failureMessage(c));
    opened.push(c);
    expect(c.peer).toEqual(a.address);
    expect(await send(c, "hi")).toBeUndefined();
    const hi = (await next(a))!;
    expect(hi.from).toEqual(c.address);
    await send(intruder, "intruder", c.address);
    await send(a, "reply", hi.from);
    expect(text((await next(c))!.data)).toBe("reply");
    expect(c.stats).toMatchObject({ received: 2, foreign: 1, delivered: 1 });
  });

  it("bind failures are returned as failures, never thrown", async () => {
    const a = await bind("127.0.0.1:0", options);
    const reasons: Array<string> = [];
    for (
      const [address, opts] of [
        [`127.0.0.1:${a.address.port}`, options],
        ["unix:/tmp/x.sock", options],
        ["127.0.0.1:70000", options],
        ["127.0.0.1:0", { ...options, queueCapacity: 0 }],
        ["127.0.0.1:0", { ...options, queueBytes: 1.5 }],
        ["127.0.0.1:0", { ...options, overflow: "dropAll" }],
        ["127.0.0.1:0", { backend: "raw" }],
      ] as Array<[string, DatagramEndpointOptions]>
    ) {
      const result = await DatagramEndpoint.bind(address, opts);
      reasons.push(result instanceof DatagramEndpoint ? "bound" : result.reason);
      if (result instanceof DatagramEndpoint) result.close();
      else expect(result.operation).toBe("bind");
    }
    expect(reasons).toEqual([
      "AddressInUse",
      ...Array(6).fill("InvalidAddress"),
    ]);
    const peer = await DatagramEndpoint.connect("127.0.0.1:0", options);
    expect(peer instanceof DatagramEndpoint ? "connected" : peer.reason).toBe("InvalidAddress");
  });

  it("options: checked before the backend, and the backend's own rules", async () => {
    const a = await bind("239.255.77.78:0", options);
    expect((await a.joinMulticast("127.0.0.1"))?.reason).toBe("InvalidAddress");
    expect((await a.joinMulticast("ff02::1"))?.reason).toBe("InvalidAddress");
    expect((await a.setMulticastTTL(256))?.reason).toBe("InvalidAddress");
    expect(await a.setBroadcast(true)).toBeUndefined();
    const off = await a.setBroadcast(false);
    expect(off?.reason).toBe(backend === "node:dgram" ? undefined : "Unsupported");
    expect(await a.joinMulticast("239.255.77.78", "127.0.0.1")).toBeUndefined();
    expect(await a.leaveMulticast("239.255.77.78", "127.0.0.1")).toBeUndefined();
  });
});

describe("DatagramEndpoint backends", () => {
  it.skipIf(backends.includes("Deno.listenDatagram"))(
    "Deno.listenDatagram without --unstable-net is Unsupported, with the flag to add",
    async () => {
      const result = await DatagramEndpoint.bind("127.0.0.1:0", {
        backend: "Deno.listenDatagram",
      });
      expect(result instanceof DatagramEndpoint).toBe(false);
      if (!(result instanceof DatagramEndpoint)) {
        expect(result.reason).toBe("Unsupported");
        expect(failureMessage(result)).toContain("--unstable-net");
      }
    },
  );

  it("on Deno.listenDatagram (a child run with --unstable-net): carries, waits, closes", async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-net", repoPath("fixtures/udp_core_deno.ts")],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(20_000),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    expect(out.success, stdout + new TextDecoder().decode(out.stderr)).toBe(true);
    expect(stdout.trim().split("\n")).toEqual([
      "backend Deno.listenDatagram",
      "waiter told 1",
      "received hello from the sender",
      "stats received 1 delivered 1 sent 1",
      "after close null",
    ]);
  });
});
