package dev.mycelium.overlay.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mycelium.overlay.node.Routes.Owner;
import dev.mycelium.wire.proto.Envelope;
import dev.mycelium.wire.proto.NetworkSearchRequest;
import dev.mycelium.wire.proto.NetworkSearchResponse;
import dev.mycelium.wire.proto.Ping;
import dev.mycelium.wire.proto.ReplicaPut;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RoutesTest {
  private static final Envelope PING = Envelope.newBuilder().setPing(Ping.getDefaultInstance())
      .build();
  private static final Envelope PUT = Envelope.newBuilder()
      .setReplicaPut(ReplicaPut.getDefaultInstance()).build();
  private static final Envelope REQUEST = Envelope.newBuilder()
      .setSearchRequest(NetworkSearchRequest.getDefaultInstance()).build();
  private static final Envelope RESPONSE = Envelope.newBuilder()
      .setSearchResponse(NetworkSearchResponse.getDefaultInstance()).build();

  @Test
  void everyMessageTypeHasExactlyOneOwnerAndTheOwnersFollowTheFieldRanges() {
    for (Envelope.BodyCase type : Envelope.BodyCase.values()) {
      if (type == Envelope.BodyCase.BODY_NOT_SET) {
        assertThat(Routes.owner(type)).isEmpty();
        continue;
      }
      int n = type.getNumber();
      Owner expected = n < 30 ? Owner.OVERLAY : n < 50 ? Owner.REPLICA : Owner.SEARCH;
      assertThat(Routes.owner(type)).as(type.name()).contains(expected);
    }
  }

  @Test
  void searchMessagesGoToSearchAndNeverToReplication() {
    Routes r = new Routes(EnumSet.allOf(Owner.class));
    assertThat(r.route(REQUEST)).contains(Owner.SEARCH);
    assertThat(r.route(RESPONSE)).contains(Owner.SEARCH);
    assertThat(r.route(PUT)).contains(Owner.REPLICA);
    assertThat(r.route(PING)).contains(Owner.OVERLAY);
    assertThat(r.dropped()).isZero();
  }

  @Test
  void aTypeWhoseCoreIsNotRunningIsDroppedAndCountedInOnePlace() {
    Routes r = new Routes(Set.of(Owner.OVERLAY, Owner.SEARCH));
    assertThat(r.route(PUT)).isEmpty();
    assertThat(r.route(PUT)).isEmpty();
    assertThat(r.route(Envelope.getDefaultInstance())).isEmpty();
    assertThat(r.route(REQUEST)).contains(Owner.SEARCH);
    assertThat(r.dropped()).isEqualTo(3);
    assertThat(r.droppedByType()).containsEntry(Envelope.BodyCase.REPLICA_PUT, 2L)
        .containsEntry(Envelope.BodyCase.BODY_NOT_SET, 1L);
  }

  @Test
  void startingACoreLaterRoutesItsMessagesAndKeepsTheCounts() {
    Routes r = new Routes(Set.of(Owner.OVERLAY));
    assertThat(r.route(REQUEST)).isEmpty();
    Routes more = r.with(Owner.SEARCH);
    assertThat(more.route(REQUEST)).contains(Owner.SEARCH);
    assertThat(more.isRunning(Owner.REPLICA)).isFalse();
    assertThat(more.dropped()).isEqualTo(1);
  }
}
