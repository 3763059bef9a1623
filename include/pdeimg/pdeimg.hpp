// Umbrella header: the whole pdeimg host API (without the optional OpenCV adapters).
#pragma once

#include "pdeimg/canny.hpp"
#include "pdeimg/context.hpp"
#include "pdeimg/error.hpp"
#include "pdeimg/gradient.hpp"
#include "pdeimg/heat.hpp"
#include "pdeimg/image.hpp"
#include "pdeimg/noise.hpp"
#include "pdeimg/morphology.hpp"
#include "pdeimg/perona_malik.hpp"
#include "pdeimg/reaction_diffusion.hpp"
#include "pdeimg/version.hpp"
