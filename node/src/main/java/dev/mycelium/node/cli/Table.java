package dev.mycelium.node.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A plain aligned text table, like those of {@code consul members} and {@code nodetool status}:
 * columns padded to their widest cell, two spaces apart, numbers right-aligned, no borders, so
 * the output also reads well through {@code grep}, {@code awk} and {@code column}.
 */
public final class Table {
  private final String[] headers;
  private final boolean[] rightAligned;
  private final List<String[]> rows = new ArrayList<>();

  /** A table with these column headers; a header starting with '>' is right-aligned. */
  public Table(String... headers) {
    this.headers = new String[headers.length];
    this.rightAligned = new boolean[headers.length];
    for (int i = 0; i < headers.length; i++) {
      rightAligned[i] = headers[i].startsWith(">");
      this.headers[i] = rightAligned[i] ? headers[i].substring(1) : headers[i];
    }
  }

  /** Adds a row; missing cells print empty, null prints as "-". */
  public Table row(Object... cells) {
    String[] r = new String[headers.length];
    Arrays.fill(r, "");
    for (int i = 0; i < Math.min(cells.length, r.length); i++) {
      r[i] = cells[i] == null ? "-" : String.valueOf(cells[i]);
    }
    rows.add(r);
    return this;
  }

  /** The number of rows so far. */
  public int size() {
    return rows.size();
  }

  /** The rendered table, header first, each line ending with a newline. */
  public String render() {
    int[] width = new int[headers.length];
    for (int i = 0; i < headers.length; i++) {
      width[i] = headers[i].length();
    }
    for (String[] r : rows) {
      for (int i = 0; i < r.length; i++) {
        width[i] = Math.max(width[i], r[i].length());
      }
    }
    StringBuilder sb = new StringBuilder();
    line(sb, headers, width);
    for (String[] r : rows) {
      line(sb, r, width);
    }
    return sb.toString();
  }

  private void line(StringBuilder sb, String[] cells, int[] width) {
    StringBuilder l = new StringBuilder();
    for (int i = 0; i < cells.length; i++) {
      if (i > 0) {
        l.append("  ");
      }
      String c = cells[i];
      int pad = width[i] - c.length();
      boolean last = i == cells.length - 1;
      if (rightAligned[i]) {
        l.append(" ".repeat(pad)).append(c);
      } else {
        l.append(c);
        if (!last) {
          l.append(" ".repeat(pad));
        }
      }
    }
    sb.append(l.toString().stripTrailing()).append('\n');
  }

  /** Renders key/value pairs as two aligned columns without a header. */
  public static String keyValues(List<String[]> pairs) {
    int w = 0;
    for (String[] p : pairs) {
      w = Math.max(w, p[0].length());
    }
    StringBuilder sb = new StringBuilder();
    for (String[] p : pairs) {
      sb.append(p[0]).append(" ".repeat(w - p[0].length() + 2)).append(p[1]).append('\n');
    }
    return sb.toString();
  }

  /** The text on one line, cut to {@code max} characters with an ellipsis. */
  public static String excerpt(String text, int max) {
    if (text == null) {
      return "";
    }
    String one = text.replaceAll("\\s+", " ").strip();
    if (one.length() <= max) {
      return one;
    }
    return one.substring(0, Math.max(0, max - 1)) + "…";
  }
}
