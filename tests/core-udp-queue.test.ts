// The core's bounded receive queue, without Effect and without sockets: its
// two bounds, its two overflow policies and the count of what it discards.
import { describe, expect, it } from "vitest";
import { type Datagram, type Overflow, ReceiveQueue } from "../src/core/mod.ts";

/** A datagram of `size` bytes whose first byte (if any) is `seq`, from port `seq`. */
const datagram = (seq: number, size = 1): Datagram => {
  const data = new Uint8Array(size);
  if (size > 0) data[0] = seq & 0xff;
  return { data, from: { _tag: "TcpAddress", hostname: "127.0.0.1", port: seq } };
};

/** Offers each datagram as an endpoint does: room first, then push. */
const offer = (queue: ReceiveQueue, ...datagrams: ReadonlyArray<Datagram>) => {
  for (const d of datagrams) if (queue.makeRoom(d.data.length)) queue.push(d);
};

/** Takes everything queued, as the ports (sequence numbers) of the datagrams. */
const drain = (queue: ReceiveQueue): Array<number> => {
  const out: Array<number> = [];
  for (let d = queue.shift(); d !== undefined; d = queue.shift()) out.push(d.from.port);
  return out;
};

describe("ReceiveQueue", () => {
  it("dropNewest at the datagram bound keeps the first arrivals, in order, and counts the rest", () => {
    const queue = new ReceiveQueue({ capacity: 3, maxBytes: 1 << 20, overflow: "dropNewest" });
    offer(queue, ...[1, 2, 3, 4, 5].map((i) => datagram(i, 10)));
    expect(queue.length).toBe(3);
    expect(queue.bytes).toBe(30);
    expect(queue.dropped).toBe(2);
    expect(drain(queue)).toEqual([1, 2, 3]);
    expect(queue.bytes).toBe(0);
  });

  it("dropOldest at the datagram bound keeps the latest arrivals, in order", () => {
    const queue = new ReceiveQueue({ capacity: 3, maxBytes: 1 << 20, overflow: "dropOldest" });
    offer(queue, ...[1, 2, 3, 4, 5].map((i) => datagram(i, 10)));
    expect(queue.dropped).toBe(2);
    expect(drain(queue)).toEqual([3, 4, 5]);
  });

  it("the byte bound limits the payload held, whatever the datagram count", () => {
    const newest = new ReceiveQueue({ capacity: 100, maxBytes: 10, overflow: "dropNewest" });
    offer(newest, datagram(1, 4), datagram(2, 4), datagram(3, 4), datagram(4, 2));
    // 4 + 4 fit; 4 more would make 12 > 10; the 2-byte one still fits (10).
    expect(drain(newest)).toEqual([1, 2, 4]);
    expect(newest.dropped).toBe(1);

    const oldest = new ReceiveQueue({ capacity: 100, maxBytes: 10, overflow: "dropOldest" });
    offer(oldest, datagram(1, 4), datagram(2, 4), datagram(3, 4));
    expect(oldest.bytes).toBe(8);
    expect(oldest.dropped).toBe(1);
    // A 9-byte arrival needs both 4-byte ones gone.
    offer(oldest, datagram(4, 9));
    expect(oldest.dropped).toBe(3);
    expect(drain(oldest)).toEqual([4]);
  });

  it("an empty queue accepts one datagram larger than the byte bound, and only one", () => {
    for (const overflow of ["dropNewest", "dropOldest"] as const) {
      const queue = new ReceiveQueue({ capacity: 10, maxBytes: 100, overflow });
      offer(queue, datagram(1, 500));
      expect(queue.length).toBe(1);
      expect(queue.bytes).toBe(500);
      offer(queue, datagram(2, 1));
      expect(drain(queue)).toEqual(overflow === "dropNewest" ? [1] : [2]);
      expect(queue.dropped).toBe(1);
    }
  });

  it("zero-byte datagrams count against the datagram bound", () => {
    const queue = new ReceiveQueue({ capacity: 2, maxBytes: 1, overflow: "dropNewest" });
    offer(queue, datagram(1, 0), datagram(2, 0), datagram(3, 0));
    expect(queue.length).toBe(2);
    expect(queue.dropped).toBe(1);
  });

  it("clear empties the queue without counting drops", () => {
    const queue = new ReceiveQueue({ capacity: 10, maxBytes: 1000, overflow: "dropNewest" });
    offer(queue, datagram(1, 5), datagram(2, 5));
    queue.clear();
    expect(queue.length).toBe(0);
    expect(queue.bytes).toBe(0);
    expect(queue.dropped).toBe(0);
    expect(queue.shift()).toBeUndefined();
    offer(queue, datagram(3, 5));
    expect(drain(queue)).toEqual([3]);
  });

  it("against a plain array model over 20 000 random steps: same contents, bounds always held", () => {
    for (const overflow of ["dropNewest", "dropOldest"] as Array<Overflow>) {
      const limits = { capacity: 100, maxBytes: 2000, overflow };
      const queue = new ReceiveQueue(limits);
      const model: Array<Datagram> = [];
      let modelDropped = 0;
      let modelBytes = 0;
      const modelShift = () => {
        const d = model.shift();
        modelBytes -= d?.data.length ?? 0;
        return d;
      };
      const full = (size: number) =>
        model.length >= limits.capacity ||
        (model.length > 0 && modelBytes + size > limits.maxBytes);
      let seed = 12345;
      const random = (n: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const violations: Array<string> = [];
      let sawFull = 0;
      for (let step = 0; step < 20_000; step++) {
        // Phases of 2000 steps: floods (mostly arrivals), then drains; large
        // datagrams (the byte bound binds) or tiny ones (the count binds).
        const phase = Math.floor(step / 2000);
        const flooding = phase % 2 === 0;
        if (random(10) < (flooding ? 9 : 3)) {
          const d = datagram(step, phase % 4 < 2 ? random(60) : random(4));
          if (full(d.data.length)) {
            sawFull++;
            if (overflow === "dropNewest") modelDropped++;
          }
          if (!full(d.data.length) || overflow === "dropOldest") {
            while (model.length > 0 && full(d.data.length)) {
              modelShift();
              modelDropped++;
            }
            model.push(d);
            modelBytes += d.data.length;
          }
          offer(queue, d);
        } else if (queue.shift() !== modelShift()) violations.push(`step ${step}: wrong datagram`);
        if (queue.length !== model.length || queue.bytes !== modelBytes) {
          violations.push(
            `step ${step}: ${queue.length}/${queue.bytes} vs ${model.length}/${modelBytes}`,
          );
        }
        if (queue.length > limits.capacity || (queue.length > 1 && queue.bytes > limits.maxBytes)) {
          violations.push(`step ${step}: bounds exceeded`);
        }
      }
      expect(violations.slice(0, 5)).toEqual([]);
      expect(sawFull).toBeGreaterThan(1000);
      expect(queue.dropped).toBe(modelDropped);
      expect(drain(queue)).toEqual(model.map((d) => d.from.port));
    }
  });
});
