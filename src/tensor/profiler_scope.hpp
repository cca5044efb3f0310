// SPDX-License-Identifier: Apache-2.0
#pragma once
// The scope every op of the core opens: costs one relaxed load when profiling is off.
#include <fresco/tensor/profiler.hpp>

/// Times the enclosing scope under `name` when profiling is on.
#define FRESCO_PROFILE(name) ::fresco::profiler::Scope fresco_profile_scope_(name)
