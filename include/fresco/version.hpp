// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file
/// The library's version, as macros and as a function that reports the
/// version of the library actually linked.

#define FRESCO_VERSION_MAJOR 0
#define FRESCO_VERSION_MINOR 1
#define FRESCO_VERSION_PATCH 0
/// "0.1.0"
#define FRESCO_VERSION_STRING "0.1.0"

namespace fresco {
/// The version of the linked library, e.g. "0.1.0" (compare with FRESCO_VERSION_STRING).
const char* version();
}  // namespace fresco
