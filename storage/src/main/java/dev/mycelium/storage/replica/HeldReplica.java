package dev.mycelium.storage.replica;

import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentState;
import dev.mycelium.wire.NodeId;
import dev.mycelium.wire.proto.SignedReplica;
import dev.mycelium.wire.proto.SignedTombstone;
import java.util.Optional;

/**
 * What a holder keeps for another owner under one fragment ID, as a read answers it. A read
 * never returns bytes that failed their check: a {@link FragmentState#BLANK} entry carries
 * neither replica nor tombstone, only the owner it belongs to, so the holder knows whom to ask
 * and which digest it counts in.
 *
 * @param id the fragment
 * @param state PRESENT (replica held and checked), BLANK (known, bytes missing or bad) or
 *     DELETED (the owner's tombstone stands in its place)
 * @param owner the owner, kept whatever the state
 * @param replica the owner's signed replica, only when PRESENT
 * @param tombstone the owner's signed tombstone, only when DELETED
 * @param storedAtMillis when this holder last wrote the entry (its own clock)
 */
public record HeldReplica(
    FragmentId id,
    FragmentState state,
    NodeId owner,
    Optional<SignedReplica> replica,
    Optional<SignedTombstone> tombstone,
    long storedAtMillis) {}
