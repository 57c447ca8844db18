package dev.mycelium.sim.real;

import dev.mycelium.sim.engine.GraphStats;
import dev.mycelium.sim.report.Report;
import dev.mycelium.sim.scenario.HubAttackScenario;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code hub-attack} on real nodes, after Albert, Jeong and Barabasi, "Error and attack
 * tolerance of complex networks" (Nature 2000): the snapshot analysis runs on the views the
 * real nodes report, exactly as on simulated ones; then the best-connected processes, or as
 * many random ones, are SIGKILLed and the survivors repair their views on their own. The
 * killed nodes are restarted and rejoin between the two attacks.
 */
final class RealHubAttack implements RealScenario {
  @Override
  public void run(RealContext ctx) {
    var c = ctx.config().getConfig("hub-attack");
    double dynamicFraction = c.getDouble("dynamic-fraction");
    long heal = c.getLong("dynamic-heal-ms");
    ctx.grow();
    RealNetwork net = ctx.net();
    RealNetwork.Views v = net.views();
    GraphStats g = v.graph();
    HubAttackScenario.snapshot(ctx.report(), g, HubAttackScenario.targetOrder(v.knownBy(), g),
        g.shuffledLive(ctx.random("random removal")), c.getDouble("step"),
        c.getDouble("max-fraction"));
    List<Map<String, Object>> dyn = new ArrayList<>();
    for (String mode : List.of("highest degree first", "random")) {
      RealNetwork.Views before = net.views();
      GraphStats bg = before.graph();
      int[] order = mode.equals("random") ? bg.shuffledLive(ctx.random("random removal"))
          : HubAttackScenario.targetOrder(before.knownBy(), bg);
      int kill = Math.min(order.length - 1, (int) Math.round(dynamicFraction * bg.liveNodes()));
      BitSet killed = new BitSet();
      for (int k = 0; k < kill; k++) {
        killed.set(order[k]);
        net.kill(order[k]);
      }
      int live = net.up().cardinality();
      List<Integer> justAfter = net.graph().componentSizes();
      ctx.sleep(heal, "healing " + mode);
      List<Integer> healed = net.graph().componentSizes();
      dyn.add(Report.row("removal", mode, "removed share", dynamicFraction, "removed", kill,
          "largest just after", justAfter.isEmpty() ? 0.0 : justAfter.get(0) / (double) live,
          "components just after", justAfter.size(),
          "largest after healing", healed.isEmpty() ? 0.0 : healed.get(0) / (double) live,
          "components after healing", healed.size(), "healing ms", heal));
      long back = RealMassFailure.rejoin(ctx, killed, Math.max(heal, 60_000));
      ctx.report().finding(String.format(Locale.ROOT, "After the %s attack the %d killed nodes "
          + "restarted on their files; all %d nodes were one component again after %s.", mode,
          kill, net.size(), RealMassFailure.ms(back)));
    }
    ctx.report().put("attack on the running overlay (share of survivors)", dyn);
    ctx.report().finding(String.format(Locale.ROOT, "On the running real nodes, after %.0f%% of"
        + " them were SIGKILLed highest-degree first, the survivors' largest component is "
        + "%.1f%% of them after %d s of repair (random: %.1f%%).", dynamicFraction * 100,
        ((Double) dyn.get(0).get("largest after healing")) * 100, heal / 1000,
        ((Double) dyn.get(1).get("largest after healing")) * 100));
    ctx.traffic("");
  }
}
