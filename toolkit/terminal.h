// Whether progress output may be drawn: the commands and the library code behind them (energy
// latency runs) show a progress line on stderr only when it is a terminal.
#pragma once

namespace deepcomp::cli {

// True when stderr is a terminal (progress output is shown only then).
bool stderr_is_tty();

}  // namespace deepcomp::cli
