// fast-check's small vocabulary (as the Effect 3 suite uses it), built on
// Effect 4's own Arbitrary: Effect 4 has no FastCheck module, and `it.prop`
// takes its Arbitraries (or Schemas). Options are fast-check's names.
import { Arbitrary, Schema } from "effect";

/** A whole number in [min, max]. */
export const integer = (options: { min: number; max: number }): Arbitrary.Arbitrary<number> =>
  Arbitrary.schema(
    Schema.Int.check(Schema.isBetween({ minimum: options.min, maximum: options.max })),
  );

/** A whole number in [0, 2^31 - 1]. */
export const nat = (): Arbitrary.Arbitrary<number> => integer({ min: 0, max: 0x7fffffff });

/** true or false. */
export const boolean = (): Arbitrary.Arbitrary<boolean> => Arbitrary.schema(Schema.Boolean);

/** One of `values`. */
export const constantFrom = <const A>(...values: ReadonlyArray<A>): Arbitrary.Arbitrary<A> =>
  Arbitrary.map(integer({ min: 0, max: values.length - 1 }), (i) => values[i]);

/** Arrays of `item`, of a length in [minLength, maxLength]. */
export const array = <A>(
  item: Arbitrary.Arbitrary<A>,
  options?: { minLength?: number; maxLength?: number },
): Arbitrary.Arbitrary<Array<A>> => Arbitrary.array(item, options);

/** A string of at most `maxLength` printable ASCII characters (fast-check 3's default). */
export const string = (options: { maxLength: number }): Arbitrary.Arbitrary<string> =>
  Arbitrary.map(
    array(integer({ min: 0x20, max: 0x7e }), { maxLength: options.maxLength }),
    (codes) => String.fromCharCode(...codes),
  );

/** An object of values from the arbitraries in `fields`. */
export const record = <const F extends Record<string, Arbitrary.Arbitrary<unknown>>>(
  fields: F,
): Arbitrary.Arbitrary<{ [K in keyof F]: F[K] extends Arbitrary.Arbitrary<infer A> ? A : never }> =>
  Arbitrary.all(fields) as never;

/**
 * Byte arrays of at most `maxLength` bytes. Up to 1 KiB each byte is drawn;
 * longer ones draw a length and a seed and fill the bytes from it (drawing
 * tens of thousands of bytes one by one is slow, and their values matter
 * less than the length).
 */
export const uint8Array = (options: { maxLength: number }): Arbitrary.Arbitrary<Uint8Array> =>
  options.maxLength <= 1024
    ? Arbitrary.map(
      array(integer({ min: 0, max: 255 }), { maxLength: options.maxLength }),
      (values) => new Uint8Array(values),
    )
    : Arbitrary.map(
      Arbitrary.all({ length: integer({ min: 0, max: options.maxLength }), seed: nat() }),
      ({ length, seed }) => fill(length, seed),
    );

/** `length` bytes from xorshift32 seeded with `seed`. */
const fill = (length: number, seed: number): Uint8Array => {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
};

/** `arbitrary`'s values passed through `f`. */
export const map: <A, B>(
  arbitrary: Arbitrary.Arbitrary<A>,
  f: (a: A) => B,
) => Arbitrary.Arbitrary<B> = Arbitrary.map;

/** `arbitrary`'s values that satisfy `predicate`. */
export const filter = <A>(
  arbitrary: Arbitrary.Arbitrary<A>,
  predicate: (a: A) => boolean,
): Arbitrary.Arbitrary<A> => Arbitrary.filter(arbitrary, predicate);
