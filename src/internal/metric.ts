// How this library declares a metric an OpenTelemetry exporter reads well:
// a monotonic counter (exported as a sum, not a gauge) with its unit as the
// `unit` tag, which @effect/opentelemetry turns into the instrument's unit.
import * as Metric from "effect/Metric";

/** A monotonic counter named `name`, measured in `unit` (`By`, `{connection}`, …). */
export const monotonicCounter = (
  name: string,
  description: string,
  unit: string,
): Metric.Metric.Counter<number> =>
  Metric.counter(name, { description, incremental: true }).pipe(Metric.tagged("unit", unit));
