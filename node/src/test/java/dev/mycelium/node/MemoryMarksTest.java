package dev.mycelium.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.model.Fragment;
import dev.mycelium.model.FragmentCodec;
import dev.mycelium.model.FragmentId;
import dev.mycelium.model.FragmentLimits;
import dev.mycelium.model.OwnerKeys;
import dev.mycelium.model.Visibility;
import dev.mycelium.wire.NodeId;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The derived marks: which fragment supersedes which, and which have expired. */
class MemoryMarksTest {
  private final FragmentCodec codec = new FragmentCodec(FragmentLimits.DEFAULTS.withDimension(4));
  private final OwnerKeys alice = OwnerKeys.generate(new SecureRandom());
  private final OwnerKeys mallory = OwnerKeys.generate(new SecureRandom());
  private final MemoryMarks marks = new MemoryMarks();
  private final Map<FragmentId, NodeId> owners = new HashMap<>();

  private Fragment make(OwnerKeys keys, String text, Map<String, String> metadata) {
    Fragment f = codec.create(keys, 1, text, new float[0], metadata, Visibility.PRIVATE);
    owners.put(f.id(), f.owner());
    return f;
  }

  private Optional<FragmentId> newer(FragmentId id) {
    return marks.supersededBy(id, x -> Optional.ofNullable(owners.get(x)));
  }

  @Test
  void aLinkCountsOnlyBetweenFragmentsOfTheSameOwner() {
    Fragment v1 = make(alice, "v1", Map.of());
    Fragment v2 = make(alice, "v2", Map.of(MemoryMarks.SUPERSEDES, v1.id().toString()));
    Fragment forged = make(mallory, "x", Map.of(MemoryMarks.SUPERSEDES, v2.id().toString()));
    marks.note(v1);
    marks.note(v2);
    marks.note(forged);
    assertThat(newer(v1.id())).contains(v2.id());
    assertThat(newer(v2.id())).as("another owner cannot hide alice's fragment").isEmpty();
    assertThat(newer(forged.id())).isEmpty();
  }

  @Test
  void deletingTheNewerVersionMakesTheOlderCurrentAgain() {
    Fragment v1 = make(alice, "v1", Map.of());
    Fragment v2 = make(alice, "v2", Map.of(MemoryMarks.SUPERSEDES, v1.id().toString()));
    marks.note(v2);
    assertThat(newer(v1.id())).contains(v2.id());
    marks.forgotten(v2.id());
    assertThat(newer(v1.id())).isEmpty();
    assertThat(marks.isEmpty()).isTrue();
  }

  @Test
  void expiryIsReadFromSignedMetadataAndBadValuesAreIgnored() {
    Fragment soon = make(alice, "soon", Map.of(MemoryMarks.EXPIRES_AT, "1000"));
    Fragment bad = make(alice, "bad", Map.of(MemoryMarks.EXPIRES_AT, "tomorrow"));
    marks.note(soon);
    marks.note(bad);
    assertThat(marks.expired(soon.id(), 999)).isFalse();
    assertThat(marks.expired(soon.id(), 1000)).isTrue();
    assertThat(marks.expired(bad.id(), Long.MAX_VALUE)).isFalse();
    assertThat(marks.expiredBy(1000, 10)).containsExactly(soon.id());
    assertThat(marks.expiredBy(1000, 0)).isEmpty();
    marks.forgotten(soon.id());
    assertThat(marks.expired(soon.id(), 1000)).isFalse();
  }
}
