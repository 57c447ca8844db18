package dev.mycelium.storage;

import dev.mycelium.model.FragmentId;

/**
 * One nearest neighbour.
 *
 * @param id the fragment
 * @param score cosine similarity, higher is closer
 */
public record VectorHit(FragmentId id, float score) {}
