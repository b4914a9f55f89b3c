/**
 * A small metrics registry that renders the Prometheus text exposition format (version 0.0.4):
 * counters, gauges and histograms with labels, and the server's own set of metrics
 * ({@linkcode createServerMetrics}).
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "./metrics.ts";
 * const registry = new MetricsRegistry();
 * const hits = registry.counter("hits_total", "Hits.", ["route"]);
 * hits.inc({ route: "/" });
 * console.log(registry.render());
 * // # HELP hits_total Hits.
 * // # TYPE hits_total counter
 * // hits_total{route="/"} 1
 * ```
 *
 * @module
 */

/** Label values by label name. */
export type Labels = Readonly<Record<string, string>>;

/** The `Content-Type` of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Escapes a label value (backslash, double quote, newline). */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** `{a="1",b="2"}`, or nothing without labels. */
function formatLabels(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return "";
  return `{${names.map((name, i) => `${name}="${escapeLabel(values[i])}"`).join(",")}}`;
}

/** A sample value as Prometheus writes it. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** What every metric shares: name, help, label names, series by label values. */
export abstract class Metric<S> {
  /** The series by their label values (joined), each with its values and state. */
  readonly series: Map<string, { values: string[]; state: S }> = new Map();

  /**
   * Makes a metric without series.
   *
   * @param name the metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`)
   * @param help its one-line description
   * @param labelNames its label names, in order
   * @param type its Prometheus type
   */
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly type: "counter" | "gauge" | "histogram",
  ) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new RangeError(`bad metric name ${name}`);
  }

  /** A fresh series state. */
  protected abstract initial(): S;

  /** The label values in label-name order, and the series key they make. */
  protected key(labels: Labels): { values: string[]; key: string } {
    const values = this.labelNames.map((name) => {
      const value = labels[name];
      if (value === undefined) throw new RangeError(`${this.name}: label ${name} missing`);
      return value;
    });
    return { values, key: values.join("\u0000") };
  }

  /** The series of some label values (created on first use). */
  protected state(labels: Labels = {}): S {
    const { values, key } = this.key(labels);
    let entry = this.series.get(key);
    if (!entry) this.series.set(key, entry = { values, state: this.initial() });
    return entry.state;
  }

  /** The sample lines. */
  abstract samples(): string[];

  /** HELP, TYPE and sample lines. */
  render(): string {
    const help = this.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
    return [`# HELP ${this.name} ${help}`, `# TYPE ${this.name} ${this.type}`, ...this.samples()]
      .join("\n");
  }
}

/** A counter: a value that only goes up. */
export class Counter extends Metric<{ value: number }> {
  #read?: () => number;

  /** Reads the (label-free) value from a function at every render (e.g. a count kept elsewhere). */
  collect(read: () => number): this {
    this.#read = read;
    return this;
  }

  /** A fresh series: 0. */
  protected initial(): { value: number } {
    return { value: 0 };
  }

  /** Adds to the series of `labels` (by 1 unless given; never negative). */
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`${this.name}: a counter cannot go down`);
    this.state(labels).value += by;
  }

  /** The value of a series (0 when never touched). */
  get(labels: Labels = {}): number {
    return this.series.get(this.key(labels).key)?.state.value ?? 0;
  }

  /** The sample lines. */
  samples(): string[] {
    if (this.#read) this.state({}).value = this.#read();
    return [...this.series.values()].map(({ values, state }) =>
      `${this.name}${formatLabels(this.labelNames, values)} ${formatValue(state.value)}`
    );
  }
}

/** A gauge: a value that goes up and down, or is read when rendered. */
export class Gauge extends Counter {
  /** Sets the series of `labels`. */
  set(labels: Labels, value: number): void {
    this.state(labels).value = value;
  }

  /** Adds to the series of `labels` (any sign). */
  override inc(labels: Labels = {}, by = 1): void {
    this.state(labels).value += by;
  }
}

/** A histogram: counts of observations at or below each bucket bound, their sum and count. */
export class Histogram extends Metric<{ counts: number[]; sum: number; count: number }> {
  /** The bucket upper bounds, ascending (`+Inf` is implied). */
  readonly buckets: readonly number[];

  /**
   * Makes a histogram without series.
   *
   * @param name the metric name
   * @param help its one-line description
   * @param labelNames its label names (`le` is added for the buckets)
   * @param buckets the bucket upper bounds
   */
  constructor(name: string, help: string, labelNames: readonly string[], buckets: number[]) {
    super(name, help, labelNames, "histogram");
    this.buckets = [...buckets].sort((a, b) => a - b);
  }

  /** A fresh series: empty buckets. */
  protected initial(): { counts: number[]; sum: number; count: number } {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }

  /** Records one observation. */
  observe(labels: Labels, value: number): void {
    const state = this.state(labels);
    this.buckets.forEach((bound, i) => {
      if (value <= bound) state.counts[i]++;
    });
    state.sum += value;
    state.count++;
  }

  /** The sample lines: cumulative buckets, `+Inf`, sum, count. */
  samples(): string[] {
    const names = [...this.labelNames, "le"];
    return [...this.series.values()].flatMap(({ values, state }) => [
      ...this.buckets.map((bound, i) =>
        `${this.name}_bucket${formatLabels(names, [...values, formatValue(bound)])} ${
          state.counts[i]
        }`
      ),
      `${this.name}_bucket${formatLabels(names, [...values, "+Inf"])} ${state.count}`,
      `${this.name}_sum${formatLabels(this.labelNames, values)} ${formatValue(state.sum)}`,
      `${this.name}_count${formatLabels(this.labelNames, values)} ${state.count}`,
    ]);
  }
}

/** Metrics in registration order, rendered together. */
export class MetricsRegistry {
  readonly #metrics: { name: string; render(): string }[] = [];

  #add<M extends { name: string; render(): string }>(metric: M): M {
    if (this.#metrics.some((m) => m.name === metric.name)) {
      throw new RangeError(`metric ${metric.name} registered twice`);
    }
    this.#metrics.push(metric);
    return metric;
  }

  /** Registers a counter. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#add(new Counter(name, help, labelNames, "counter"));
  }

  /** Registers a gauge. */
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.#add(new Gauge(name, help, labelNames, "gauge"));
  }

  /** Registers a histogram with bucket upper bounds. */
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: number[],
  ): Histogram {
    return this.#add(new Histogram(name, help, labelNames, buckets));
  }

  /** The whole exposition, ending with a newline. */
  render(): string {
    return this.#metrics.map((metric) => metric.render()).join("\n") + "\n";
  }
}

/** The server's metrics (all names start with `ner_`). */
export interface ServerMetrics {
  /** The registry they are in (its `render()` is `GET /metrics`). */
  registry: MetricsRegistry;
  /** `ner_http_requests_total{route,method,status}`: responses sent. */
  requests: Counter;
  /** `ner_http_errors_total{route,status}`: responses with a status of 400 or more. */
  errors: Counter;
  /** `ner_http_request_duration_seconds{route}`: time from request to response. */
  latency: Histogram;
  /** `ner_http_requests_in_flight`: requests being handled. */
  inFlight: Gauge;
  /** `ner_texts_tagged_total`: texts tagged. */
  texts: Counter;
  /** `ner_tokens_tagged_total`: tokens tagged. */
  tokens: Counter;
  /** `ner_entities_found_total`: entities found. */
  entities: Counter;
  /** `ner_batch_texts`: texts per forward pass (micro-batch size). */
  batchTexts: Histogram;
  /** `ner_batch_requests`: requests sharing a forward pass. */
  batchRequests: Histogram;
  /** `ner_batch_duration_seconds`: time of one forward pass (tagging a batch). */
  batchSeconds: Histogram;
  /** `ner_batch_failures_total`: batches whose tagging threw. */
  batchFailures: Counter;
  /** `ner_queue_texts`: texts waiting for a batch. */
  queued: Gauge;
  /**
   * `ner_pool_worker_restarts_total`: prediction workers started to replace ones that died (0
   * without a prediction pool).
   */
  workerRestarts: Counter;
  /** `ner_pool_workers_ready`: prediction workers ready to tag (0 without a pool). */
  workersReady: Gauge;
  /**
   * `ner_http_connections_refused_total{status}`: connections answered by the header guard
   * without reaching a route: 408 (request head not complete within the header timeout), 431
   * (request head over its size limit).
   */
  refused: Counter;
}

/** Bucket bounds of the latency histograms, in seconds. */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Bucket bounds of the batch size histograms. */
const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/** Creates the server's metrics in a fresh registry. */
export function createServerMetrics(): ServerMetrics {
  const registry = new MetricsRegistry();
  return {
    registry,
    requests: registry.counter(
      "ner_http_requests_total",
      "HTTP requests answered, by route, method and status.",
      ["route", "method", "status"],
    ),
    errors: registry.counter(
      "ner_http_errors_total",
      "HTTP requests answered with a status of 400 or more, by route and status.",
      ["route", "status"],
    ),
    latency: registry.histogram(
      "ner_http_request_duration_seconds",
      "Time from receiving a request to answering it, by route.",
      ["route"],
      SECONDS_BUCKETS,
    ),
    inFlight: registry.gauge("ner_http_requests_in_flight", "HTTP requests being handled."),
    texts: registry.counter("ner_texts_tagged_total", "Texts tagged."),
    tokens: registry.counter("ner_tokens_tagged_total", "Tokens tagged."),
    entities: registry.counter("ner_entities_found_total", "Entities found."),
    batchTexts: registry.histogram(
      "ner_batch_texts",
      "Texts per tagging batch (one forward pass shared by concurrent requests).",
      [],
      SIZE_BUCKETS,
    ),
    batchRequests: registry.histogram(
      "ner_batch_requests",
      "Requests sharing one tagging batch.",
      [],
      SIZE_BUCKETS,
    ),
    batchSeconds: registry.histogram(
      "ner_batch_duration_seconds",
      "Time to tag one batch.",
      [],
      SECONDS_BUCKETS,
    ),
    batchFailures: registry.counter("ner_batch_failures_total", "Tagging batches that failed."),
    queued: registry.gauge("ner_queue_texts", "Texts waiting for a tagging batch."),
    workerRestarts: registry.counter(
      "ner_pool_worker_restarts_total",
      "Prediction workers started to replace ones that died.",
    ),
    workersReady: registry.gauge("ner_pool_workers_ready", "Prediction workers ready to tag."),
    refused: registry.counter(
      "ner_http_connections_refused_total",
      "Connections refused before their request reached a route: 408 (request head not " +
        "complete within the header timeout), 431 (request head too large), by status.",
      ["status"],
    ),
  };
}
