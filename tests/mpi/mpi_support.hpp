// What the MPI tests share: how to launch `mpirun` on the 2-core CI machine.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "support/test_support.hpp"

namespace qinling::test {

// mpirun for a 2-core CI machine: more ranks than cores, no core binding (so each rank's
// oneTBB sees every core), and the switch Open MPI needs to start as root. Ends with a space.
inline std::string mpirun(int ranks) {
  std::string cmd = std::string(QINLING_MPIEXEC) + " --oversubscribe --bind-to none -n " + std::to_string(ranks);
  if (::geteuid() == 0) cmd += " --allow-run-as-root";
  return cmd + " ";
}

// Runs a Python script (an independent reader, e.g. sqlite3) on `path` with /usr/bin/python3
// and returns what it printed; a failing script fails the test.
inline std::string python_output(const TempDir& dir, const std::string& script, const std::string& path) {
  write_text(dir / "reader.py", script);
  const auto r = run_command("/usr/bin/python3 " + (dir / "reader.py") + " " + path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

}  // namespace qinling::test
