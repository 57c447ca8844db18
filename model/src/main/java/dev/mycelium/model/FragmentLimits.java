package dev.mycelium.model;

/**
 * Bounds on what a fragment may hold; checked before anything is signed or stored.
 *
 * @param maxTextBytes UTF-8 bytes of text (default 64 KiB)
 * @param dimension vector dimension, fixed per store (default 384)
 * @param maxMetadataEntries number of metadata entries
 * @param maxMetadataBytes UTF-8 bytes of all keys and values together
 */
public record FragmentLimits(
    int maxTextBytes, int dimension, int maxMetadataEntries, int maxMetadataBytes) {

  /** The shipped defaults. */
  public static final FragmentLimits DEFAULTS = new FragmentLimits(64 * 1024, 384, 64, 8 * 1024);

  /** The same limits with another vector dimension. */
  public FragmentLimits withDimension(int dim) {
    return new FragmentLimits(maxTextBytes, dim, maxMetadataEntries, maxMetadataBytes);
  }
}
