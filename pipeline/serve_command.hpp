// `qinling serve DIR`: an HTTP tile server (cpp-httplib) for the XYZ folders, MBTiles and PMTiles
// under DIR, with TileJSON and OGC WMTS (REST and KVP); loopback only unless told otherwise.
#pragma once

#include <string>

#include "pipeline/commands.hpp"

namespace qinling::pipeline {

struct ServeOptions {
  std::string dir;
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 8;
};

int command_serve(const ServeOptions& options, const CommonFlags& flags);

}  // namespace qinling::pipeline
