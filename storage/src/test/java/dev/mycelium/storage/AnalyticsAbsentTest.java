package dev.mycelium.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * The node contacts nobody but its peers: Chronicle's usage analytics must not even be on the
 * classpath (the artifact is excluded in the parent pom), and the switch is set as well.
 */
class AnalyticsAbsentTest {
  @Test
  void chronicleAnalyticsClassesAreNotLoadable() {
    for (String name :
        new String[] {
          "net.openhft.chronicle.analytics.Analytics",
          "net.openhft.chronicle.analytics.internal.VanillaAnalytics",
          "net.openhft.chronicle.analytics.internal.GoogleAnalytics4"
        }) {
      assertThatThrownBy(() -> Class.forName(name, false, getClass().getClassLoader()))
          .as(name)
          .isInstanceOf(ClassNotFoundException.class);
    }
    assertThat(getClass().getClassLoader().getResource("net/openhft/chronicle/analytics"))
        .as("the net.openhft.chronicle.analytics package")
        .isNull();
  }

  @Test
  void analyticsSwitchIsOffOnceTheStoreIsLoaded() throws Exception {
    Class.forName(ChronicleFragmentStore.class.getName(), true, getClass().getClassLoader());
    assertThat(System.getProperty("chronicle.analytics.disable")).isEqualTo("true");
  }
}
