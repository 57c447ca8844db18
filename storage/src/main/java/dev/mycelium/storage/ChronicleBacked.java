package dev.mycelium.storage;

import dev.mycelium.model.DiskUse;
import java.util.Optional;

/**
 * A store kept in one {@link ChronicleFile}: its disk facts are the file's, answered here once
 * for the fragment store and the replica store alike.
 */
public interface ChronicleBacked extends DiskUse {
  /** The files under the store: bytes on disk, generations, growths since open. */
  ChronicleFile files();

  @Override
  default Optional<String> lowDisk() {
    return files().lowDisk();
  }

  /** Bytes the live generation files take on disk; 0 once the store is closed. */
  @Override
  default long diskBytes() {
    ChronicleFile files = files();
    return files.isClosed() ? 0 : files.diskBytes();
  }

  @Override
  default long freeDiskBytes() {
    return files().freeDiskBytes();
  }
}
