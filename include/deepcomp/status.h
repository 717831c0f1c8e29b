// Errors of the public API: every fallible function returns deepcomp::Status or
// deepcomp::Result<T> (a value or an error Status) instead of throwing. A Status message is one
// line naming the file, tensor or node at fault, the same text the `deepcomp` command prints.
// These are the library's own types (core/status.h, installed with the headers).
#pragma once

#include "core/status.h"
