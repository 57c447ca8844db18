package dev.mycelium.node.metrics;

import dev.mycelium.model.FragmentState;
import dev.mycelium.model.StoreStats;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * A node's Prometheus metrics, named {@code mycelium_<area>_<thing>_<unit>}: a gauge ends in
 * what it counts or measures ({@code _vectors}, {@code _ratio}, {@code _seconds}), a counter
 * in {@code _total}, and what varies goes in labels, so that one dashboard query covers a
 * family (MetricNamesTest holds the rule). Each node has its
 * own registry rather than the process-wide default, so that several nodes in one JVM (tests,
 * the local cluster launcher) report separately. Values that the store and the index already
 * count are read through callbacks at scrape time instead of being copied on every write.
 */
public final class NodeMetrics {
  /**
   * What the node reports through callbacks; read at scrape time from the scraping thread.
   */
  public interface Sources {
    /** Current store counts. */
    StoreStats storeStats();

    /** Vectors in the index, pending included. */
    long indexSize();

    /** Vectors not yet in the index graph. */
    long indexPending();

    /** Text-only fragments waiting for the embedder. */
    long embedQueue();

    /** Fragments the scrubber checked since start. */
    long scrubberChecked();

    /** Scrubber checks that found missing or corrupt bytes since start. */
    long scrubberFailures();

    /** Bytes the fragment store's files take on disk. */
    default long storeDiskBytes() {
      return 0;
    }

    /** Bytes the replica store's files take on disk. */
    default long replicaDiskBytes() {
      return 0;
    }

    /** Bytes free on the disk holding the stores, as the stores read it. */
    default long freeDiskBytes() {
      return 0;
    }

    /** Bytes of embedding-model weights in memory. */
    default long modelBytes() {
      return 0;
    }

    /** Bytes the vector index holds in memory (estimated from its size). */
    default long indexMemoryBytes() {
      return 0;
    }
  }

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
  private final Counter httpRequests;
  private final Histogram httpDuration;
  private final Counter embedderDropped;
  private final Counter embedded;

  /** Registers every metric of a node on a fresh registry. */
  public NodeMetrics(Supplier<Sources> sources) {
    JvmMetrics.builder().register(registry);
    httpRequests =
        Counter.builder()
            .name("mycelium_http_requests_total")
            .help("HTTP API requests by route and status code")
            .labelNames("route", "code")
            .register(registry);
    httpDuration =
        Histogram.builder()
            .name("mycelium_http_request_duration_seconds")
            .help("HTTP API request handling time")
            .unit(Unit.SECONDS)
            .labelNames("route")
            .classicOnly()
            .register(registry);
    counter(registry, "mycelium_scrubber_checked_total",
        "Fragments whose hash the background scrubber checked", sources,
        s -> (double) s.scrubberChecked());
    counter(registry, "mycelium_scrubber_failures_total",
        "Scrubber checks that found missing or corrupt bytes (the fragment is BLANK)", sources,
        s -> (double) s.scrubberFailures());
    embedderDropped =
        Counter.builder()
            .name("mycelium_embedder_deferred_total")
            .help("Text-only fragments not queued for embedding because the queue was full; "
                + "they are embedded at the next start (embedder.queue-capacity)")
            .register(registry);
    embedded =
        Counter.builder()
            .name("mycelium_embedder_embedded_total")
            .help("Texts embedded in the background")
            .register(registry);
    GaugeWithCallback.builder()
        .name("mycelium_store_fragments")
        .help("Fragments in the store by state")
        .labelNames("state")
        .callback(
            cb -> {
              Sources s = sources.get();
              if (s != null) {
                StoreStats st = s.storeStats();
                for (FragmentState state : FragmentState.values()) {
                  cb.call(st.byState().getOrDefault(state, 0L), state.name());
                }
              }
            })
        .register(registry);
    CounterWithCallback.builder()
        .name("mycelium_store_blank_detections_total")
        .help("Hash failures found since start, by reads and the scrubber")
        .callback(
            cb -> {
              Sources s = sources.get();
              if (s != null) {
                cb.call(s.storeStats().blankDetections());
              }
            })
        .register(registry);
    gauge(registry, "mycelium_store_capacity_entries",
        "Entries the store is sized for (storage.capacity-entries)",
        sources, s -> (double) s.storeStats().capacityEntries());
    gauge(registry, "mycelium_store_entries", "Entries in use in the store",
        sources, s -> (double) s.storeStats().entries());
    gauge(registry, "mycelium_store_disk_bytes", "Bytes the fragment store's files take on disk",
        sources, s -> (double) s.storeDiskBytes());
    gauge(registry, "mycelium_replication_store_disk_bytes",
        "Bytes the replica store's files take on disk", sources, s -> (double) s.replicaDiskBytes());
    gauge(registry, "mycelium_store_free_disk_bytes",
        "Bytes free on the disk holding the stores; below storage.min-free-disk-mb new fragments "
            + "and replicas are refused", sources, s -> (double) s.freeDiskBytes());
    gauge(registry, "mycelium_embedder_model_bytes",
        "Bytes of embedding-model weights in memory (native, outside the heap)",
        sources, s -> (double) s.modelBytes());
    gauge(registry, "mycelium_index_memory_bytes",
        "Bytes the vector index holds on the heap, estimated: vectors and graph",
        sources, s -> (double) s.indexMemoryBytes());
    gauge(registry, "mycelium_store_fill_ratio", "Share of the store's capacity in use, 0 to 1",
        sources, s -> s.storeStats().fillRatio());
    gauge(registry, "mycelium_index_vectors", "Vectors in the index, pending included",
        sources, s -> (double) s.indexSize());
    gauge(registry, "mycelium_index_pending_vectors", "Vectors added but not yet in the index graph",
        sources, s -> (double) s.indexPending());
    gauge(registry, "mycelium_embedder_queued_fragments", "Text-only fragments waiting for the embedder",
        sources, s -> (double) s.embedQueue());
  }

  /**
   * Registers a gauge read from {@code source} at scrape time; a null source (a part that is
   * not open, or is stopping) reports nothing rather than failing the scrape.
   */
  public static <T> void gauge(PrometheusRegistry registry, String name, String help,
      Supplier<T> source, java.util.function.ToDoubleFunction<T> value) {
    GaugeWithCallback.builder().name(name).help(help)
        .callback(cb -> report(source, value, cb::call))
        .register(registry);
  }

  /** As {@link #gauge}, for a counter that the source keeps itself. */
  public static <T> void counter(PrometheusRegistry registry, String name, String help,
      Supplier<T> source, java.util.function.ToDoubleFunction<T> value) {
    CounterWithCallback.builder().name(name).help(help)
        .callback(cb -> report(source, value, cb::call))
        .register(registry);
  }

  private static <T> void report(Supplier<T> source, java.util.function.ToDoubleFunction<T> value,
      java.util.function.DoubleConsumer sink) {
    T s = source.get();
    if (s != null) {
      sink.accept(value.applyAsDouble(s));
    }
  }

  /** Counts one finished HTTP request. */
  public void httpRequest(String route, int code, long nanos) {
    httpRequests.labelValues(route, Integer.toString(code)).inc();
    httpDuration.labelValues(route).observe(nanos / 1e9);
  }

  /** Counts a text-only fragment that did not fit in the embedding queue. */
  public void embedDeferred() {
    embedderDropped.inc();
  }

  /** Counts a background embedding. */
  public void embedded() {
    embedded.inc();
  }

  /** The registry, for tests and extra collectors. */
  public PrometheusRegistry registry() {
    return registry;
  }

  /** Content type of {@link #scrape()}. */
  public String contentType() {
    return writer.getContentType();
  }

  /** Every metric in the Prometheus text format. */
  public byte[] scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
    try {
      writer.write(out, registry.scrape(), EscapingScheme.UNDERSCORE_ESCAPING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "NodeMetrics[%s]", registry);
  }
}
