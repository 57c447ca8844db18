package dev.mycelium.storage.embed;

import dev.mycelium.storage.Embedder;
import java.util.Locale;

/**
 * Feature hashing (Weinberger et al., "Feature Hashing for Large Scale Multitask Learning",
 * ICML 2009) of lower-cased word tokens and character trigrams into a fixed number of signed
 * buckets, then L2-normalised. It knows no meaning, only shared words and spellings, but it is
 * fast, deterministic across JVMs and platforms, and texts that share words get close vectors:
 * what tests and the simulator need from an embedder without loading a model.
 */
public final class HashEmbedder implements Embedder {
  private static final float WORD_WEIGHT = 1.0f;
  private static final float TRIGRAM_WEIGHT = 0.5f;

  private final int dimension;
  private final long seed;

  /** An embedder into {@code dimension} buckets with the default seed. */
  public HashEmbedder(int dimension) {
    this(dimension, 0x6d7963656c69756dL);
  }

  /** An embedder into {@code dimension} buckets; another seed gives unrelated vectors. */
  public HashEmbedder(int dimension, long seed) {
    if (dimension < 2) {
      throw new IllegalArgumentException("dimension must be at least 2, got " + dimension);
    }
    this.dimension = dimension;
    this.seed = seed;
  }

  @Override
  public int dimension() {
    return dimension;
  }

  @Override
  public float[] embed(String text) {
    if (text == null) {
      throw new IllegalArgumentException("text to embed is required");
    }
    float[] v = new float[dimension];
    String lower = text.toLowerCase(Locale.ROOT);
    int i = 0;
    int n = lower.length();
    while (i < n) {
      while (i < n && !Character.isLetterOrDigit(lower.codePointAt(i))) {
        i += Character.charCount(lower.codePointAt(i));
      }
      int start = i;
      while (i < n && Character.isLetterOrDigit(lower.codePointAt(i))) {
        i += Character.charCount(lower.codePointAt(i));
      }
      if (i > start) {
        addWord(v, lower.substring(start, i));
      }
    }
    double norm = 0;
    for (float x : v) {
      norm += (double) x * x;
    }
    if (norm == 0) {
      // No words: every empty text maps to the same fixed unit vector.
      v[0] = 1;
      return v;
    }
    float inv = (float) (1 / Math.sqrt(norm));
    for (int j = 0; j < dimension; j++) {
      v[j] *= inv;
    }
    return v;
  }

  private void addWord(float[] v, String word) {
    add(v, hash("w:" + word), WORD_WEIGHT);
    // Trigrams of the word with boundary marks, so "index" and "indexes" share most features.
    String padded = "^" + word + "$";
    for (int j = 0; j + 3 <= padded.length(); j++) {
      add(v, hash(padded.substring(j, j + 3)), TRIGRAM_WEIGHT);
    }
  }

  private void add(float[] v, long h, float weight) {
    int bucket = (int) Long.remainderUnsigned(h >>> 1, dimension);
    // A hashed sign keeps collisions from adding up in expectation.
    v[bucket] += (h & 1) == 0 ? weight : -weight;
  }

  /** 64-bit FNV-1a over UTF-16 units, seeded, with a murmur-style finaliser for mixing. */
  private long hash(String s) {
    long h = 0xcbf29ce484222325L ^ seed;
    for (int j = 0; j < s.length(); j++) {
      h ^= s.charAt(j);
      h *= 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }
}
