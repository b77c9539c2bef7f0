// The ferry binary: wires the command line to the process environment.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/cli.h"
#include "core/clock.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  ferry::cli::CliEnvironment env;
  env.out = &std::cout;
  env.err = &std::cerr;
  std::error_code ec;
  env.current_dir = std::filesystem::current_path(ec);
  if (ec) {
    std::cerr << "ferry: error: cannot read the current folder: " << ec.message() << "\n";
    return 1;
  }
  if (const char* home = std::getenv("FERRY_HOME")) env.ferry_home = home;
  if (const char* user = std::getenv("USER")) env.user = user;
  if (const char* token = std::getenv("FERRY_TOKEN")) env.token = token;
  env.clock = ferry::core::SystemClock::Shared();
  int code = ferry::cli::Run(argc, argv, std::move(env));
  std::cout.flush();
  return code;
}
