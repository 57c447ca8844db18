# shellcheck shell=bash disable=SC2154
# What `mycelium run` adds to the JVM flags, sourced by both launchers (./mycelium in a
# checkout and bin/mycelium of the distribution) with the JDK's $version and $major and the
# flags so far in the array jvm. Memory bounds for a node on a laptop (docs/BENCHMARKS.md,
# "Memory"): the heap and direct memory of node-jvm.options beside this file; two malloc
# arenas instead of one per thread; and native memory freed by the JVM returned to the system
# every minute where the JDK can: the flag is in 17.0.9+, 21.0.1+ and 22+, and an older JVM
# would refuse to start with it.
jvm+=("@$(dirname "${BASH_SOURCE[0]}")/node-jvm.options")
minor="$(cut -d. -f3 <<<"${version%%[-+]*}")"
if { [ "$major" -eq 17 ] && [ "${minor:-0}" -ge 9 ]; } \
    || { [ "$major" -eq 21 ] && [ "${minor:-0}" -ge 1 ]; } || [ "$major" -ge 22 ]; then
  jvm+=(-XX:TrimNativeHeapInterval=60000)
fi
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
