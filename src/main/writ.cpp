// The `writ` command: see cli/app.h.
#include <iostream>

#include "cli/app.h"

int main(int argc, char** argv) { return writ::cli::RunCli(argc, argv, std::cout, std::cerr); }
