package dev.mycelium.overlay;

/**
 * What a node offers for placement: free store entries and a load figure in [0, 1]. Kept per
 * active peer so that placement can weigh neighbours without asking them.
 */
public record Capacity(long freeEntries, float load) {
  /** Nothing known yet. */
  public static final Capacity UNKNOWN = new Capacity(0, 1f);

  public Capacity {
    if (freeEntries < 0) {
      throw new IllegalArgumentException("free entries cannot be negative: " + freeEntries);
    }
    if (!(load >= 0f && load <= 1f)) {
      throw new IllegalArgumentException("load must be in [0, 1], got " + load);
    }
  }

  public static Capacity fromProto(dev.mycelium.wire.proto.Capacity c) {
    float load = c.getLoad();
    return new Capacity(Math.max(0, c.getFreeEntries()), Float.isNaN(load) ? 1f
        : Math.max(0f, Math.min(1f, load)));
  }

  public dev.mycelium.wire.proto.Capacity toProto() {
    return dev.mycelium.wire.proto.Capacity.newBuilder()
        .setFreeEntries(freeEntries).setLoad(load).build();
  }
}
