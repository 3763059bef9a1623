// Fast explicit diffusion (FED; Grewenig, Weickert & Bruhn, "From box filtering to fast explicit
// diffusion", DAGM 2010): cycles of n explicit steps with the varying sizes
//   tau_i = tau_max / (2 cos²(π (2i + 1) / (4n + 2))),   i = 0 .. n-1,
// whose sum tau_max (n² + n) / 3 grows with n², so a time T takes about sqrt(3 T / tau_max) steps
// instead of T / tau_max. One cycle of a fixed linear operator is stable (every Fourier mode is
// multiplied by a factor in [-1, 1]) although single steps exceed the stability bound; in float
// arithmetic the order of the steps matters, since rounding errors made after a large step are
// amplified by the steps that follow. Internal header: step sizes for the heat and Perona–Malik
// schemes (src/heat.cpp, src/perona_malik.cpp).
#pragma once

#include <vector>

namespace pdeimg {
namespace detail {

/// The longest cycle used: 50 steps. With the κ ordering below, the rounding errors of a cycle of
/// n <= 50 steps are amplified by at most fed_rounding_bound <= 1100 (n = 50) over all modes,
/// i.e. about 7e-5 of the largest magnitude in float32; the unordered cycle of 50 steps would
/// amplify them by 1e24 (tested: tests/fed_test.cpp).
constexpr int kFedMaxCycle = 50;

/// κ of the κ-cycle ordering for n = 1 .. kFedMaxCycle (index n - 1): step k of the cycle
/// (k = 1, 2, ...) takes the size tau_{(k κ mod p) - 1}, p the smallest prime > n, skipping indices
/// >= n (Grewenig et al. 2010, section 4). Each κ minimises fed_rounding_bound over 1 <= κ < p.
extern const int kFedKappa[kFedMaxCycle];

/// The smallest cycle length n whose cycle reaches `theta` with steps bounded by tau_max.
int fed_cycle_length(double theta, double tau_max);

/// One cycle of n steps (1 <= n <= kFedMaxCycle) summing to exactly `theta` (<= the cycle's
/// reach, so each step is the FED step scaled by theta / reach <= 1), in the κ order.
std::vector<double> fed_cycle(int n, double theta, double tau_max);

/// Σ_i max_λ |Π_{j<i} (1 - tau_j λ)| · max_λ |Π_{j>=i} (1 - tau_j λ)| over λ in [0, 2 / tau_max]:
/// how much the rounding error of one step, relative to the largest magnitude, can grow in the
/// cycle (n for a cycle of steps within the bound).
double fed_rounding_bound(const std::vector<double>& steps, double tau_max);

/// A whole FED run: `cycles` cycles of equal time, each the steps `cycle` in order.
struct FedSchedule {
  long long cycles = 0;
  std::vector<double> cycle;
  long long steps() const { return cycles * static_cast<long long>(cycle.size()); }
};

/// The fewest cycles of time T / cycles with at most kFedMaxCycle steps each.
long long fed_min_cycles(double time, double tau_max);

/// `cycles` (>= 1) cycles of time T / cycles, each of the shortest length reaching it; the
/// number of cycles is raised when a cycle would exceed kFedMaxCycle steps.
FedSchedule fed_schedule(double time, double tau_max, long long cycles);

/// The largest deviation, over the modes λ in [0, 2 / tau_max] of the operator, of the schedule's
/// amplification Π (1 - tau_i λ) from the exact exp(-λ T).
double fed_transfer_error(const FedSchedule& s, double time, double tau_max);

/// Heat: the schedule with the fewest steps whose transfer error is at most `tolerance` (tried
/// with fed_min_cycles, and more).
FedSchedule fed_heat_schedule(double time, double tau_max, double tolerance);

}  // namespace detail
}  // namespace pdeimg
