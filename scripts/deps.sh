#!/usr/bin/env bash
# Installs the Debian packages tmempool needs, or says exactly what to run when not root.
# Sourced by scripts/test.sh and scripts/bench.sh; one list, so the two never disagree.
#   build:     cmake, gcc, make, pkg-config, libhwloc-dev (topology, NUMA binding),
#              libcjson-dev (meta.json), valgrind (memcheck hooks and tests, callgrind counts)
#   baselines: libmimalloc-dev, libgoogle-perftools-dev (tcmalloc), libjemalloc-dev
#   plots:     gnuplot-nox
#   tests:     procps (pgrep: the fault tests look for workers left behind), groff-base and
#              bsdextrautils (the installed man pages rendered and read), parallel (the
#              scale-out recipe run as documented), python3-yaml (the example CI workflow read)
#   real:      python3, sqlite3 (the programs the real preset records; gcc is above)
TMP_DEB_PACKAGES=(cmake gcc make pkg-config libhwloc-dev libcjson-dev valgrind
                  libmimalloc-dev libgoogle-perftools-dev libjemalloc-dev gnuplot-nox procps
                  groff-base bsdextrautils parallel python3 python3-yaml sqlite3)

tmp_install_deps() {
  local missing=()
  for p in "${TMP_DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "tmempool: missing Debian packages: ${missing[*]}" >&2
    echo "run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 3
  fi
  echo "tmempool: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
