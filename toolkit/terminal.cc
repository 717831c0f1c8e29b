#include "toolkit/terminal.h"

#include <unistd.h>

namespace deepcomp::cli {

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace deepcomp::cli
