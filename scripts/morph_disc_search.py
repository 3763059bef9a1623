#!/usr/bin/env python3
"""Why the exact disc is the digital disc and not a polygon of periodic lines (docs/architecture.md,
Morphology). For a radius r, a bright pixel dilated by a flat element has an area (pixels) and a
1/2 crossing of its bilinear interpolant along 16 directions, measured as morphology_test does.

  scripts/morph_disc_search.py            # r = 3 and 4: every decomposition with line lengths
                                          # a, b < 5 (axes, diagonals), c < 3 ((2,1)-type) and
                                          # d < 4 cross steps, within 5% of pi r^2 or "none"
  scripts/morph_disc_search.py digital    # the digital disc {i^2 + j^2 <= r^2}, r = 3..40

Pure Python (no numpy), about a minute."""
import itertools
import math
import sys

DIRS = [((1, 0), (0, 1)), ((1, 1), (1, -1)), ((2, 1), (1, 2), (2, -1), (1, -2))]


def lines(abc):
    """The Minkowski sum of the periodic lines {k v : |k| <= n} of the three direction groups."""
    s = {(0, 0)}
    for n, group in zip(abc, DIRS):
        for v in group:
            if n:
                s = {(p[0] + k * v[0], p[1] + k * v[1]) for p in s for k in range(-n, n + 1)}
    return s


def with_cross(s, d):
    for _ in range(d):
        s = {(p[0] + dx, p[1] + dy) for p in s for dx, dy in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))}
    return s


def measure(s, r):
    """(area / (pi r^2) - 1, min and max of the 16 crossings minus r)."""
    def px(x, y):
        return 1.0 if (x, y) in s else 0.0

    def bilinear(x, y):
        x0, y0 = math.floor(x), math.floor(y)
        fx, fy = x - x0, y - y0
        return (px(x0, y0) * (1 - fx) * (1 - fy) + px(x0 + 1, y0) * fx * (1 - fy) +
                px(x0, y0 + 1) * (1 - fx) * fy + px(x0 + 1, y0 + 1) * fx * fy)

    lo, hi = 1e9, -1e9
    for k in range(16):
        th = 2 * math.pi * k / 16
        d = 0.0
        while bilinear((d + 0.005) * math.cos(th), (d + 0.005) * math.sin(th)) >= 0.5:
            d += 0.005
        lo, hi = min(lo, d - r), max(hi, d - r)
    return len(s) / (math.pi * r * r) - 1, lo, hi


if len(sys.argv) > 1 and sys.argv[1] == "digital":
    for r in range(3, 41):
        s = {(x, y) for y in range(-r, r + 1) for x in range(-r, r + 1) if x * x + y * y <= r * r}
        ea, lo, hi = measure(s, r)
        print("r %2d: %5d pixels (%+.1f%%), crossing - r in [%+.2f, %+.2f]" % (r, len(s), 100 * ea, lo, hi))
else:
    for r in (3, 4):
        found = []
        for a, b, c, d in itertools.product(range(5), range(5), range(3), range(4)):
            s = with_cross(lines((a, b, c)), d)
            ea = len(s) / (math.pi * r * r) - 1
            if abs(ea) <= 0.05:
                _, lo, hi = measure(s, r)
                found.append((max(-lo, hi), (a, b, c, d), len(s), ea))
        found.sort()
        print("r %d:" % r, found[:3] if found else "none within 5% of pi r^2")
