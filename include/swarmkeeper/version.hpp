// SPDX-License-Identifier: Apache-2.0
// version.hpp — the version of this build (the CMake project version, the one source of
// it) and the git revision it was built from ("unknown" outside a git checkout; a
// "-dirty" suffix when the tree had uncommitted changes).
#pragma once

#include <string_view>

namespace swarmkeeper {

/// "0.1.0"
std::string_view version() noexcept;
/// "3f2a9c1d0b7e", "3f2a9c1d0b7e-dirty" or "unknown".
std::string_view revision() noexcept;

}  // namespace swarmkeeper
