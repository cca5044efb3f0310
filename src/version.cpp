// SPDX-License-Identifier: Apache-2.0
#include <fresco/version.hpp>

namespace fresco {

// Compiled into the library, so a program can compare the version it was
// built against (FRESCO_VERSION_STRING) with the one it runs with.
const char* version() { return FRESCO_VERSION_STRING; }

}  // namespace fresco
