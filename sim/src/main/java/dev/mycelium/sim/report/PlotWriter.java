package dev.mycelium.sim.report;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Draws {@link Plot}s to PNG with XChart, so that the plots come from a plotting library and
 * look the same on every machine with a JDK (headless AWT, no display needed).
 */
public final class PlotWriter {
  private PlotWriter() {}

  public static void write(Plot plot, Path dir) throws IOException {
    System.setProperty("java.awt.headless", "true");
    XYChart chart = new XYChartBuilder().width(900).height(540).title(plot.title())
        .xAxisTitle(plot.xLabel()).yAxisTitle(plot.yLabel()).build();
    chart.getStyler().setXAxisLogarithmic(plot.logX());
    chart.getStyler().setYAxisLogarithmic(plot.logY());
    chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideSE);
    chart.getStyler().setChartBackgroundColor(Color.WHITE);
    chart.getStyler().setPlotGridLinesVisible(true);
    boolean any = false;
    for (Plot.Series s : plot.series()) {
      List<Double> xs = new ArrayList<>();
      List<Double> ys = new ArrayList<>();
      for (int i = 0; i < s.x().length; i++) {
        // A log axis cannot show zero or less; such points are left out of that chart only.
        if ((plot.logX() && !(s.x()[i] > 0)) || (plot.logY() && !(s.y()[i] > 0))
            || !Double.isFinite(s.x()[i]) || !Double.isFinite(s.y()[i])) {
          continue;
        }
        xs.add(s.x()[i]);
        ys.add(s.y()[i]);
      }
      if (xs.isEmpty()) {
        continue;
      }
      any = true;
      XYSeries series = chart.addSeries(s.name(), xs, ys);
      if (s.line()) {
        series.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        series.setMarker(SeriesMarkers.NONE);
      } else {
        series.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
      }
    }
    if (!any) {
      chart.addSeries("no data", new double[] {plot.logX() ? 1 : 0},
          new double[] {plot.logY() ? 1 : 0});
    }
    BitmapEncoder.saveBitmap(chart, dir.resolve(plot.file()).toString(),
        BitmapEncoder.BitmapFormat.PNG);
  }
}
