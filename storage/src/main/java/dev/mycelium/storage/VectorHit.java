package dev.mycelium.storage;

/**
 * One nearest neighbour.
 *
 * @param id the fragment
 * @param score cosine similarity, higher is closer
 */
public record VectorHit(FragmentId id, float score) {}
