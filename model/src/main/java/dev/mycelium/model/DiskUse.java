package dev.mycelium.model;

import java.util.Optional;

/**
 * What a store's files take on disk and whether it refuses new entries for lack of room. The
 * defaults are those of a store in memory, which takes no disk and never refuses for it.
 */
public interface DiskUse {
  /**
   * Why the store refuses new entries for lack of disk space (what is free, what is needed), or
   * empty when it does not. A store in memory never does.
   */
  default Optional<String> lowDisk() {
    return Optional.empty();
  }

  /** Bytes the store's files take on disk; 0 for a store in memory. */
  default long diskBytes() {
    return 0;
  }

  /** Bytes free on the disk holding the store, or -1 for a store in memory. */
  default long freeDiskBytes() {
    return -1;
  }
}
