#!/usr/bin/env bash
# Makes the README's before/after pictures (docs/images/*.png) from samples/images with the built
# apps: each picture is a crop of the input beside the same crop of the app's output.
#   scripts/readme-figures.sh [BUILD_DIR]     (default build/; run scripts/run-sample.sh first)
# Needs python3 with PIL (installed with apt-get when missing) to put the crops side by side; the
# apps do the rest. The denoise example is samples/images/chelsea_noisy.png (chelsea.png with
# Gaussian noise of deviation 25).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
for app in smooth denoise edges morph; do
  [[ -x "$build/apps/$app" ]] || { echo "readme-figures: $build/apps/$app not built (run scripts/run-sample.sh)" >&2; exit 2; }
done
if ! /usr/bin/python3 -c 'import PIL' 2>/dev/null; then
  sudo_cmd=""; [[ $(id -u) -eq 0 ]] || sudo_cmd=sudo
  $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq python3-pil
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p docs/images

"$build/apps/denoise" samples/images/chelsea_noisy.png "$tmp/chelsea_denoised.png"
"$build/apps/smooth" samples/images/camera.png "$tmp/camera_smooth.png" --sigma 2
"$build/apps/edges" samples/images/camera.png "$tmp/camera_edges.png" --sigma 2
"$build/apps/morph" blackhat samples/images/text.png "$tmp/text_blackhat.png" --radius 6
"$build/apps/smooth" samples/images/camera.png "$tmp/camera_blurred.png" --sigma 3
"$build/apps/morph" shock "$tmp/camera_blurred.png" "$tmp/camera_shock.png" --sigma 2 --time 5

# NAME BEFORE AFTER X Y W H: the crop (x, y, w, h) of both, side by side, 6 white pixels apart.
/usr/bin/python3 - "$tmp" <<'EOF'
import sys
from PIL import Image
tmp = sys.argv[1]
figures = [
    ("denoise", "samples/images/chelsea_noisy.png", tmp + "/chelsea_denoised.png", (60, 20, 260, 220)),
    ("smooth", "samples/images/camera.png", tmp + "/camera_smooth.png", (150, 40, 260, 220)),
    ("edges", "samples/images/camera.png", tmp + "/camera_edges.png", (150, 40, 260, 220)),
    ("morph_blackhat", "samples/images/text.png", tmp + "/text_blackhat.png", None),
    ("morph_shock", tmp + "/camera_blurred.png", tmp + "/camera_shock.png", (150, 40, 260, 220)),
]
for name, before, after, box in figures:
    a, b = Image.open(before).convert("RGB"), Image.open(after).convert("RGB")
    if box is not None:
        x, y, w, h = box
        w, h = min(w, a.width - x), min(h, a.height - y)
        a, b = a.crop((x, y, x + w, y + h)), b.crop((x, y, x + w, y + h))
    if a.width > 300:  # keep the pictures small
        h = round(a.height * 300 / a.width)
        a, b = a.resize((300, h), Image.LANCZOS), b.resize((300, h), Image.LANCZOS)
    out = Image.new("RGB", (2 * a.width + 6, a.height), "white")
    out.paste(a, (0, 0))
    out.paste(b, (a.width + 6, 0))
    out.save("docs/images/%s.png" % name, optimize=True)
    print("docs/images/%s.png" % name)
EOF
