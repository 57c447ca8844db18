package dev.mycelium.bench.search;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the {@code .fvecs} format of the public ANN benchmark sets (SIFT, GIST; Jégou et al.,
 * "Product quantization for nearest neighbor search", 2011): per vector, a little-endian int32
 * dimension followed by that many little-endian float32 values. Lets the search benchmark run
 * on the same data as published numbers.
 */
public final class FvecsReader {
  private FvecsReader() {}

  /**
   * Reads up to {@code limit} vectors (all if {@code limit} is negative).
   *
   * @throws IOException if the file is truncated or its vectors differ in dimension
   */
  public static float[][] read(Path path, int limit) throws IOException {
    List<float[]> out = new ArrayList<>();
    try (InputStream raw = Files.newInputStream(path);
        DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 1 << 16))) {
      byte[] header = new byte[4];
      int dim = -1;
      while (limit < 0 || out.size() < limit) {
        int first = in.read();
        if (first < 0) {
          break;
        }
        header[0] = (byte) first;
        in.readFully(header, 1, 3);
        int d = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (d <= 0 || (dim >= 0 && d != dim)) {
          throw new IOException(
              path + ": vector " + out.size() + " has dimension " + d
                  + (dim >= 0 ? ", earlier ones " + dim : "") + "; is this an .fvecs file?");
        }
        dim = d;
        byte[] body = new byte[4 * d];
        try {
          in.readFully(body);
        } catch (EOFException e) {
          throw new IOException(path + ": truncated in vector " + out.size(), e);
        }
        float[] v = new float[d];
        ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        out.add(v);
      }
    }
    return out.toArray(new float[0][]);
  }
}
