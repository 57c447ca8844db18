package dev.mycelium.sim.report;

import java.util.List;

/**
 * A chart a report draws: axes, scales and series of points. Kept as plain data so that a
 * report's JSON can name its plots and tests can check them without decoding images.
 *
 * @param file the PNG file name within the output directory
 */
public record Plot(String file, String title, String xLabel, String yLabel, boolean logX,
    boolean logY, List<Series> series) {

  /** One named series; {@code line} draws a line, otherwise markers only. */
  public record Series(String name, double[] x, double[] y, boolean line) {
    public Series {
      if (x.length != y.length) {
        throw new IllegalArgumentException("series " + name + " has " + x.length + " x values and "
            + y.length + " y values");
      }
    }
  }

  public Plot {
    if (!file.endsWith(".png")) {
      throw new IllegalArgumentException("plot file must end in .png, got " + file);
    }
    series = List.copyOf(series);
  }
}
