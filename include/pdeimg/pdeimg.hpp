// Umbrella header: the whole pdeimg host API (without the optional OpenCV adapters).
#pragma once

#include "pdeimg/context.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/heat.hpp"
#include "pdeimg/image.hpp"
