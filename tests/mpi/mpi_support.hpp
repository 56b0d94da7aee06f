// What the MPI tests share: how to launch `mpirun` on the 2-core CI machine.
#pragma once

#include <unistd.h>

#include <string>

namespace qinling::test {

// mpirun for a 2-core CI machine: more ranks than cores, no core binding (so each rank's
// oneTBB sees every core), and the switch Open MPI needs to start as root. Ends with a space.
inline std::string mpirun(int ranks) {
  std::string cmd = std::string(QINLING_MPIEXEC) + " --oversubscribe --bind-to none -n " + std::to_string(ranks);
  if (::geteuid() == 0) cmd += " --allow-run-as-root";
  return cmd + " ";
}

}  // namespace qinling::test
