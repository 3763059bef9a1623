#!/usr/bin/python3
"""pdeimg side by side with scikit-image, ITK and G'MIC (bench/peers/run.sh sets it up).

Two parts, both written to OUT/results.json and OUT/results.md:

quality  Denoising of Set12 (grey) at noise sigma 15, 25, 50 by the protocol of
         bench/denoise_quality.cpp: clean 8-bit image -> float; add N(0, sigma^2) noise on the
         0..255 scale from std::mt19937(1000 * sigma + index) through Box-Muller (the same numbers
         as denoise_quality), neither clipped nor quantised; PSNR of the output clipped to
         [0, 255] and rounded against the clean image; mean over the set. Every peer's parameters
         are chosen per sigma by a small grid search on training images (train400, other seeds),
         never on Set12; peers are given the true sigma where they take one, pdeimg `denoise` is
         blind (it estimates the noise).
speed    Primitives on one 2048x2048 float32 image (values 0..255), every tool on the same
         threads, interleaved rounds, best of N: Gaussian blur sigma 2 and 8, Canny, grey dilation
         by a disc of radius 10, Perona-Malik 20 steps; with the outputs' agreement with pdeimg's.

Times are compute only: pdeimg's apps' own timer (`--report`, milliseconds.compute), ITK's
filter Update() (itk_runner), G'MIC's tic/toc around the command, and time.perf_counter() around
the scikit-image call.
"""
import argparse
import glob
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

import pywt
import scipy
import scipy.ndimage as ndi
import skimage
import skimage.io
import tifffile
from skimage import feature, filters, morphology, restoration

# ---------------------------------------------------------------------------------------------
# The denoising protocol of bench/denoise_quality.cpp


def gauss_noise(seed, n):
    """n standard normal samples: Box-Muller on std::mt19937(seed), as denoise_quality's Gauss."""
    pairs = (n + 1) // 2
    raw = np.random.RandomState(seed).randint(0, 2**32, size=2 * pairs, dtype=np.uint32)
    u = (raw.astype(np.float64) + 0.5) / 4294967296.0
    r = np.sqrt(-2.0 * np.log(u[0::2]))
    a = 2.0 * np.pi * u[1::2]
    z = np.empty(2 * pairs)
    z[0::2] = r * np.cos(a)  # returned first
    z[1::2] = r * np.sin(a)  # the spare, returned next
    return z[:n]


def add_noise(clean, sigma, seed):
    """float32(clean + sigma * N(0, 1)) in row-major order, not clipped, not rounded."""
    z = gauss_noise(seed, clean.size).reshape(clean.shape)
    return (clean.astype(np.float64) + sigma * z).astype(np.float32)


def quantised(out):
    """The output clipped to [0, 255] and rounded (half up, in float as denoise_quality does)."""
    v = np.clip(out.astype(np.float32), np.float32(0), np.float32(255))
    return np.floor(v + np.float32(0.5))


def psnr(clean, out):
    d = quantised(out).astype(np.float64) - clean.astype(np.float64)
    return 10.0 * np.log10(255.0**2 / np.mean(d * d))


def read_grey(path):
    img = skimage.io.imread(path)
    if img.ndim == 3:  # BT.601 luma, rounded, as denoise_quality --gray
        img = np.floor(0.299 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2] + 0.5)
    return img.astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# The tools


class Pdeimg:
    """The pdeimg apps, one folder run per batch; times from their --report."""

    def __init__(self, apps, threads, work):
        self.apps, self.threads, self.work = apps, threads, work
        self.calls = 0

    def version(self):
        return subprocess.run([os.path.join(self.apps, "denoise"), "--version"],
                              capture_output=True, text=True).stdout.strip()

    def _dir(self):
        self.calls += 1
        d = os.path.join(self.work, "pdeimg-%d" % self.calls)
        os.makedirs(d)
        return d

    def batch(self, app, images, args):
        """Runs `app IN_DIR OUT_DIR args` on float32 images; returns (outputs, seconds each)."""
        d = self._dir()
        os.makedirs(os.path.join(d, "in"))
        names = ["%03d.tif" % i for i in range(len(images))]
        for n, img in zip(names, images):
            tifffile.imwrite(os.path.join(d, "in", n), img.astype(np.float32))
        report = os.path.join(d, "report.json")
        cmd = [os.path.join(self.apps, app), os.path.join(d, "in"), os.path.join(d, "out") + "/",
               "--threads", str(self.threads), "--jobs", "1", "--backend", "cpu", "-q",
               "--report", report] + args
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        rep = json.load(open(report))
        ms = {os.path.basename(e["input"]): e for e in rep["inputs"]}
        outs = [tifffile.imread(os.path.join(d, "out", n)).astype(np.float32) for n in names]
        secs = [ms[n]["milliseconds"]["compute"] / 1000.0 for n in names]
        params = [ms[n].get("parameters", {}) for n in names]
        shutil.rmtree(d)
        return outs, secs, params

    def one(self, argv, in_path, out_path):
        """Runs one app on one file (argv: [app, op...] before IN OUT); returns (seconds, report)."""
        report = out_path + ".json"
        cmd = [os.path.join(self.apps, argv[0])] + argv[1:] + [in_path, out_path]
        cmd += ["--threads", str(self.threads), "--backend", "cpu", "--report", report]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        rep = json.load(open(report))
        return rep["milliseconds"]["compute"] / 1000.0, rep


class Itk:
    """bench/peers/itk_runner kept running; one command a line."""

    def __init__(self, exe, threads, work):
        self.work = work
        self.proc = subprocess.Popen([exe, "--threads", str(threads)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.banner = self.proc.stdout.readline().strip()  # "itk 5.2.1 threads 2"
        self.calls = 0

    def run(self, op, img, **params):
        """Runs op on a float32 image; returns (output, seconds of Update())."""
        self.calls += 1
        src = os.path.join(self.work, "itk-in.raw")
        dst = os.path.join(self.work, "itk-out.raw")
        np.ascontiguousarray(img, dtype="<f4").tofile(src)
        h, w = img.shape
        kv = " ".join("%s=%s" % (k, v) for k, v in params.items())
        self.proc.stdin.write("%s %s %s %d %d %s\n" % (op, src, dst, w, h, kv))
        self.proc.stdin.flush()
        ans = self.proc.stdout.readline().split()
        if not ans or ans[0] != "ok":
            raise RuntimeError("itk_runner: %s" % " ".join(ans))
        return np.fromfile(dst, dtype="<f4").reshape(h, w), float(ans[1])

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def write_cimg(path, images):
    """A CImg list file (G'MIC's own format): float32, little endian, one channel each."""
    with open(path, "wb") as f:
        f.write(b"%d float little_endian\n" % len(images))
        for img in images:
            h, w = img.shape
            f.write(b"%d %d 1 1\n" % (w, h))
            f.write(np.ascontiguousarray(img, dtype="<f4").tobytes())


def read_cimg(path):
    out = []
    with open(path, "rb") as f:
        head = f.readline().split()
        n, kind = int(head[0]), head[1].decode()
        dtype = {"float": "<f4", "double": "<f8"}[kind]
        for _ in range(n):
            w, h, d, s = (int(v) for v in f.readline().split()[:4])
            data = np.frombuffer(f.read(w * h * d * s * np.dtype(dtype).itemsize), dtype=dtype)
            out.append(data.reshape(s, d, h, w)[0, 0].astype(np.float32))
    return out


class Gmic:
    """The gmic CLI: the whole batch in one process, timed by G'MIC's tic/toc around the command."""

    def __init__(self, exe, threads, work):
        self.exe, self.work = exe, work
        self.env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        self.calls = 0

    def version(self):
        out = subprocess.run([self.exe, "-version"], capture_output=True, text=True).stdout
        m = re.search(r"Version (\d+\.\d+\.\d+)", re.sub(r"\x1b\[[0-9;]*m", "", out))
        return m.group(1) if m else "?"

    def batch(self, images, command):
        """Runs `command` on the list; returns (outputs, seconds per image)."""
        self.calls += 1
        src = os.path.join(self.work, "gmic-in.cimg")
        dst = os.path.join(self.work, "gmic-out.cimg")
        write_cimg(src, images)
        argv = [self.exe, "-v", "-1", src, "tic"] + command.split() + [
            "toc", "echo_stdout", "${}", "o", dst + ",float"]
        r = subprocess.run(argv, capture_output=True, text=True, env=self.env)
        if r.returncode != 0:
            raise RuntimeError("gmic %s: %s" % (command, r.stderr[-500:]))
        total = float(r.stdout.strip().split()[-1])
        return read_cimg(dst), total / len(images)


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# Denoisers. Each takes (tools, noisy images, sigma, params) and returns (outputs, seconds each).
# Peers are given the true sigma; scikit-image works on [0, 1] (its convention), so images are
# divided by 255 and multiplied back.


def sk_each(fn, noisy):
    outs, secs = [], []
    for x in noisy:
        y, t = timed(fn, x.astype(np.float64) / 255.0)
        outs.append((y * 255.0).astype(np.float32))
        secs.append(t)
    return outs, secs


def d_tv(tools, noisy, sigma, p):
    return sk_each(lambda x: restoration.denoise_tv_chambolle(x, weight=p["c"] * sigma / 255.0),
                   noisy)


def d_nlm(tools, noisy, sigma, p):
    s = sigma / 255.0
    return sk_each(lambda x: restoration.denoise_nl_means(
        x, patch_size=5, patch_distance=6, h=p["c"] * s, sigma=s, fast_mode=True), noisy)


def d_wavelet(tools, noisy, sigma, p):
    return sk_each(lambda x: restoration.denoise_wavelet(
        x, sigma=sigma / 255.0, wavelet=p["wavelet"], mode="soft", method="BayesShrink",
        rescale_sigma=True), noisy)


def d_itk(op):
    def run(tools, noisy, sigma, p):
        outs, secs = [], []
        for x in noisy:
            y, t = tools["itk"].run(op, x, iterations=p["iterations"], conductance=p["conductance"],
                                    timestep=0.125)
            outs.append(y)
            secs.append(t)
        return outs, secs
    return run


def d_gmic(tools, noisy, sigma, p):
    outs, t = tools["gmic"].batch(noisy, "denoise %g,%g,%d,%d,1,0" % (
        p["s"], p["c"] * sigma, p["patch"], p["lookup"]))
    return outs, [t] * len(noisy)


def d_pdeimg(args_of_sigma):
    def run(tools, noisy, sigma, p):
        outs, secs, params = tools["pdeimg"].batch("denoise", noisy, args_of_sigma(sigma))
        return outs, secs
    return run


def grid(**axes):
    keys = list(axes)
    combos = [{}]
    for k in keys:
        combos = [dict(c, **{k: v}) for c in combos for v in axes[k]]
    return combos


# name, function, grid (None: nothing to tune), note
METHODS = [
    ("pdeimg denoise (rd, blind)", d_pdeimg(lambda s: []), None,
     "built-in learned model, noise estimated"),
    ("pdeimg denoise (rd, sigma given)", d_pdeimg(lambda s: ["--noise-sigma", "%g" % s]), None,
     "--noise-sigma"),
    ("pdeimg denoise --method pm (blind)", d_pdeimg(lambda s: ["--method", "pm"]), None,
     "Perona-Malik, rational, defaults"),
    ("skimage denoise_tv_chambolle", d_tv, grid(c=[0.4, 0.55, 0.7, 0.85, 1.0, 1.2, 1.5]),
     "weight = c x sigma/255"),
    ("skimage denoise_wavelet (BayesShrink)", d_wavelet,
     grid(wavelet=["db1", "db2", "db4", "sym4", "sym8"]), "soft, sigma given, rescale_sigma"),
    ("skimage denoise_nl_means (fast)", d_nlm, grid(c=[0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2]),
     "patch 5, distance 6, sigma given, h = c x sigma/255"),
    ("ITK GradientAnisotropicDiffusion", d_itk("grad_ad"),
     grid(conductance=[1.0, 2.0, 3.0, 5.0, 8.0], iterations=[1, 2, 3, 5, 8, 12, 20, 30, 50]),
     "time step 0.125"),
    ("ITK CurvatureAnisotropicDiffusion", d_itk("curv_ad"),
     grid(conductance=[1.0, 2.0, 3.0, 5.0, 8.0], iterations=[1, 2, 3, 5, 8, 12, 20, 30, 50]),
     "time step 0.125"),
    ("G'MIC denoise (patch-based)", d_gmic,
     grid(s=[6], c=[0.2, 0.3, 0.4, 0.5], patch=[7, 9], lookup=[15, 21]),
     "denoise s,c x sigma,patch,lookup,1,0: spatial s, photometric c x sigma, smoothness 1, "
     "no fast approximation"),
]


def quality(tools, args, res):
    sigmas = [float(s) for s in args.sigmas.split(",")]
    tests = sorted(glob.glob(os.path.join(args.data, "set12", "*.png")))
    if args.set12_limit:
        tests = tests[:args.set12_limit]
    trains = sorted(glob.glob(os.path.join(args.data, "train400", "*.png")))
    step = max(1, len(trains) // args.train_images)
    trains = trains[::step][:args.train_images]
    test_clean = [read_grey(p) for p in tests]
    train_clean = [read_grey(p) for p in trains]
    q = res["quality"] = {
        "test_images": [os.path.relpath(p, args.data) for p in tests],
        "train_images": [os.path.relpath(p, args.data) for p in trains],
        "sigmas": sigmas, "methods": {}}
    nlm_limit = args.nlm_limit
    for name, fn, g, note in METHODS:
        m = q["methods"][name] = {"note": note, "per_sigma": {}}
        for sigma in sigmas:
            t0 = time.time()
            entry = m["per_sigma"][str(sigma)] = {}
            best = {}
            if g is not None:
                # seeds 1000 sigma + 500 + i: other noise than Set12's (1000 sigma + i)
                noisy = [add_noise(c, sigma, int(1000 * sigma) + 500 + i)
                         for i, c in enumerate(train_clean)]
                scores = []
                for p in g:
                    outs, _ = fn(tools, noisy, sigma, p)
                    scores.append(float(np.mean([psnr(c, o) for c, o in zip(train_clean, outs)])))
                k = int(np.argmax(scores))
                best = g[k]
                entry["grid"] = [dict(p, train_psnr=s) for p, s in zip(g, scores)]
                entry["tuned"] = best
                entry["train_psnr"] = scores[k]
                edge = [ax for ax in best if len({str(p[ax]) for p in g}) > 2 and
                        isinstance(best[ax], (int, float)) and
                        best[ax] in (min(p[ax] for p in g), max(p[ax] for p in g))]
                if edge:
                    entry["tuned_on_grid_edge"] = edge
            images = list(range(len(test_clean)))
            if name.startswith("skimage denoise_nl_means") and nlm_limit:
                images = images[:nlm_limit]
            noisy = [add_noise(test_clean[i], sigma, int(1000 * sigma) + i) for i in images]
            outs, secs = fn(tools, noisy, sigma, best)
            ps = [psnr(test_clean[i], o) for i, o in zip(images, outs)]
            entry.update(images=len(images), psnr=float(np.mean(ps)), per_image_psnr=ps,
                         seconds_per_image=float(np.mean(secs)),
                         noisy_psnr=float(np.mean([psnr(test_clean[i], x)
                                                   for i, x in zip(images, noisy)])),
                         wall_s=time.time() - t0)
            print("  %-40s sigma %2g: %.3f dB, %.4f s/img%s  [%s]" % (
                name, sigma, entry["psnr"], entry["seconds_per_image"],
                "" if len(images) == len(test_clean) else " (%d images)" % len(images),
                ", ".join("%s=%s" % kv for kv in best.items()) or "-"), flush=True)


# ---------------------------------------------------------------------------------------------
# Speed


def mosaic(data):
    """2048x2048 float32: a 4x4 mosaic of three 512x512 photos from the shared images folder
    (camera, brick, astronaut in BT.601 grey), rotated and mirrored so no two tiles are equal."""
    tiles = [read_grey(os.path.join(data, "images", n)) for n in
             ("camera.png", "brick.png", "astronaut.png")]
    rows = []
    for i in range(4):
        row = []
        for j in range(4):
            k = 4 * i + j
            t = np.rot90(tiles[k % 3], (k // 3) % 4)
            row.append(t[:, ::-1] if k >= 12 else t)
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0).astype(np.float32)


def edge_agreement(a, b):
    """Share of each map's edge pixels with an edge of the other within one pixel (8-neighbours),
    over both maps: 1 = the same edges up to a one-pixel shift."""
    a, b = a > 0, b > 0
    k = np.ones((3, 3), bool)
    hit = np.count_nonzero(a & ndi.binary_dilation(b, k)) + np.count_nonzero(
        b & ndi.binary_dilation(a, k))
    return hit / max(1, np.count_nonzero(a) + np.count_nonzero(b))


def speed(tools, args, res):
    img = mosaic(args.data)
    h, w = img.shape
    work = tools["work"]
    src_tif = os.path.join(work, "speed-in.tif")
    tifffile.imwrite(src_tif, img)
    pde, itk, gm = tools["pdeimg"], tools["itk"], tools["gmic"]
    low, high = 25.5, 51.0  # Sobel scale, pdeimg's 8-bit defaults
    # ITK's Canny thresholds its own gradient (central differences, 1/2 (u[i+1] - u[i-1])); the
    # 3x3 Sobel gives 8 times that on a straight edge, so its thresholds are divided by 8.

    def pde_run(argv, out_name):
        out = os.path.join(work, out_name)
        t, rep = pde.one(argv, src_tif, out)
        o = skimage.io.imread(out) if out.endswith(".png") else tifffile.imread(out)
        return o.astype(np.float32), t, rep.get("parameters", {})

    def gmic_one(cmd):
        outs, t = gm.batch([img], cmd)
        return outs[0], t, {}

    def sk(fn):
        out, t = timed(fn)
        return np.asarray(out, dtype=np.float32), t, {}

    def itk_one(op, **p):
        out, t = itk.run(op, img, **p)
        return out, t, {}

    prims = []
    for s in (2, 8):
        prims.append(("Gaussian blur sigma %d" % s, "blur", [
            ("pdeimg smooth --sigma %d (scheme auto)" % s, lambda s=s: pde_run(
                ["smooth", "--sigma", str(s)], "smooth%d.tif" % s)),
            ("pdeimg smooth --sigma %d --scheme spectral" % s, lambda s=s: pde_run(
                ["smooth", "--sigma", str(s), "--scheme", "spectral"], "smooth%ds.tif" % s)),
            ("skimage filters.gaussian (reflect, truncate 4)", lambda s=s: sk(
                lambda: filters.gaussian(img, sigma=s, mode="reflect", truncate=4.0,
                                         preserve_range=True))),
            ("ITK SmoothingRecursiveGaussian", lambda s=s: itk_one("gauss_rec", sigma=s)),
            ("ITK DiscreteGaussian (max error 0.001)", lambda s=s: itk_one(
                "gauss_disc", sigma=s, maxerror=0.001, maxwidth=256)),
            ("G'MIC blur %d,1,1 (Neumann, Gaussian)" % s, lambda s=s: gmic_one(
                "blur %d,1,1" % s)),
        ]))
    prims.append(("Canny sigma 2, thresholds 25.5/51 (Sobel scale)", "edges", [
        ("pdeimg edges", lambda: pde_run(["edges", "--sigma", "2", "--low", str(low), "--high",
                                          str(high)], "edges.png")),
        ("skimage feature.canny (reflect)", lambda: sk(lambda: feature.canny(
            img, sigma=2, low_threshold=low, high_threshold=high, mode="reflect"))),
        ("ITK CannyEdgeDetection (thresholds / 8)", lambda: itk_one(
            "canny", sigma=2, low=low / 8, high=high / 8)),
    ]))
    disk = morphology.disk(10)
    prims.append(("Grey dilation, disc radius 10", "dilate", [
        ("pdeimg morph dilate --radius 10 (exact disc)", lambda: pde_run(
            ["morph", "dilate", "--radius", "10"], "dilate.tif")),
        ("skimage morphology.dilation(disk(10))", lambda: sk(
            lambda: morphology.dilation(img, disk))),
        ("ITK GrayscaleDilate, the same disc as a FlatStructuringElement", lambda: itk_one(
            "dilate", radius=10, shape="disc")),
        ("ITK GrayscaleDilate, FlatStructuringElement::Ball(10)", lambda: itk_one(
            "dilate", radius=10, shape="ball")),
        ("ITK GrayscaleDilate, FlatStructuringElement::Polygon(10) (line decomposition)",
         lambda: itk_one("dilate", radius=10, shape="polygon", lines=0)),
        ("G'MIC dilate by the same disc (a 21x21 mask)", lambda: gmic_one(
            "21,21,1,1,(x-10)^2+(y-10)^2<=100 dilate[0] [1] rm[1]")),
        ("G'MIC dilate_circ 21", lambda: gmic_one("dilate_circ 21")),
    ]))
    prims.append(("Perona-Malik, 20 steps", "pm", [
        ("pdeimg denoise --method pm --steps 20 (exponential, K 10, dt 0.2)", lambda: pde_run(
            ["denoise", "--method", "pm", "--steps", "20", "--k", "10", "--diffusivity",
             "exponential", "--dt", "0.2"], "pm.tif")),
        ("ITK GradientAnisotropicDiffusion, 20 iterations (dt 0.125, conductance 1)",
         lambda: itk_one("grad_ad", iterations=20, conductance=1.0, timestep=0.125)),
    ]))

    sp = res["speed"] = {"image": "%dx%d float32, 0..255" % (w, h), "rounds": args.rounds,
                         "primitives": []}
    times = {(pi, ti): [] for pi, p in enumerate(prims) for ti in range(len(p[2]))}
    outputs, notes = {}, {}
    for r in range(args.rounds):
        for pi, (pname, kind, runs) in enumerate(prims):
            order = list(range(len(runs)))
            if r % 2:
                order.reverse()  # alternate who runs first after whom
            for ti in order:
                out, t, params = runs[ti][1]()
                times[(pi, ti)].append(t)
                if r == 0:
                    outputs[(pi, ti)] = out
                    notes[(pi, ti)] = params
        print("  speed round %d/%d done" % (r + 1, args.rounds), flush=True)
    for pi, (pname, kind, runs) in enumerate(prims):
        # Agreement with pdeimg's output; for the blurs with scikit-image's (the sampled Gaussian,
        # truncated at 4 sigma), so pdeimg's own deviation from a Gaussian shows too.
        ref_i = 2 if kind == "blur" else 0
        ref = outputs[(pi, ref_i)]
        best0 = min(times[(pi, 0)])
        rows = []
        for ti, (tname, _) in enumerate(runs):
            out = outputs[(pi, ti)]
            row = {"tool": tname, "times_s": times[(pi, ti)], "best_s": min(times[(pi, ti)]),
                   "ratio_to_pdeimg": min(times[(pi, ti)]) / best0}
            if ti == 0 and notes[(pi, 0)]:
                row["pdeimg_parameters"] = notes[(pi, 0)]
            if ti != ref_i:
                if kind == "blur":
                    d = np.abs(out.astype(np.float64) - ref)
                    b = 4 * int(pname.split()[-1])
                    row["max_abs_diff"] = float(d.max())
                    row["max_abs_diff_interior"] = float(d[b:-b, b:-b].max())
                    row["mean_abs_diff"] = float(d.mean())
                elif kind == "edges":
                    row["edge_pixels"] = int(np.count_nonzero(out))
                    row["edge_pixels_pdeimg"] = int(np.count_nonzero(ref))
                    row["edge_agreement_1px"] = edge_agreement(out, ref)
                    row["edge_exact_equal"] = float(np.mean((out > 0) == (ref > 0)))
                elif kind == "dilate":
                    d = np.abs(out.astype(np.float64) - ref)
                    row["max_abs_diff"] = float(d.max())
                    row["share_equal"] = float(np.mean(d == 0))
                    row["share_equal_interior"] = float(np.mean(d[10:-10, 10:-10] == 0))
            rows.append(row)
        sp["primitives"].append({"name": pname, "kind": kind, "rows": rows})


# ---------------------------------------------------------------------------------------------
# Report


def markdown(res):
    L = []
    m = res["machine"]
    L.append("Machine: %s, %d CPUs; threads %d for every tool that takes a count; load average "
             "%s before, %s after." % (m["cpu"], m["cpus"], res["threads"],
                                       m["load_before"], m["load_after"]))
    L.append("")
    L.append("Versions: " + ", ".join("%s %s" % kv for kv in res["versions"].items()))
    L.append("")
    if "quality" in res:
        q = res["quality"]
        sig = q["sigmas"]
        L.append("### Denoising, Set12 (%d images), mean PSNR in dB" % len(q["test_images"]))
        L.append("")
        L.append("| method | " + " | ".join("σ %g" % s for s in sig) + " | " +
                 " | ".join("s/img σ %g" % s for s in sig) + " |")
        L.append("|---|" + "---|" * (2 * len(sig)))
        first = next(iter(q["methods"].values()))
        L.append("| noisy input | " + " | ".join(
            "%.2f" % first["per_sigma"][str(s)]["noisy_psnr"] for s in sig) + " |" +
            " |" * len(sig))
        for name, m in q["methods"].items():
            ps = [m["per_sigma"][str(s)] for s in sig]
            lim = {e["images"] for e in ps}
            tag = "" if lim == {len(q["test_images"])} else " (first %d images)" % min(lim)
            L.append("| %s%s | " % (name, tag) + " | ".join("%.2f" % e["psnr"] for e in ps) +
                     " | " + " | ".join("%.3f" % e["seconds_per_image"] for e in ps) + " |")
        L.append("")
        L.append("Tuned on %d train400 images (mean training PSNR of the chosen setting):" %
                 len(q["train_images"]))
        L.append("")
        L.append("| method | grid | " + " | ".join("σ %g" % s for s in sig) + " |")
        L.append("|---|---|" + "---|" * len(sig))
        for (name, _, g, note) in METHODS:
            if g is None or name not in q["methods"]:
                continue
            m = q["methods"][name]
            axes = {}
            for p in g:
                for k, v in p.items():
                    axes.setdefault(k, [])
                    if v not in axes[k]:
                        axes[k].append(v)
            gs = "; ".join("%s ∈ {%s}" % (k, ", ".join(str(v) for v in vs))
                           for k, vs in axes.items())
            cells = []
            for s in sig:
                e = m["per_sigma"][str(s)]
                c = ", ".join("%s=%s" % kv for kv in e["tuned"].items())
                c += " (%.2f)" % e["train_psnr"]
                if e.get("tuned_on_grid_edge"):
                    c += " edge: " + ",".join(e["tuned_on_grid_edge"])
                cells.append(c)
            L.append("| %s | %s; %s | %s |" % (name, note, gs, " | ".join(cells)))
        L.append("")
    if "speed" in res:
        sp = res["speed"]
        L.append("### Speed, %s, best of %d interleaved rounds" % (sp["image"], sp["rounds"]))
        L.append("")
        L.append("| primitive | tool | best s | all runs s | peer / pdeimg | agreement with the "
                 "reference |")
        L.append("|---|---|---|---|---|---|")
        for p in sp["primitives"]:
            for i, r in enumerate(p["rows"]):
                if p["kind"] == "blur" and i != 2:
                    ag = "max \\|Δ\\| %.3g (interior %.3g), mean %.3g" % (
                        r["max_abs_diff"], r["max_abs_diff_interior"], r["mean_abs_diff"])
                elif p["kind"] == "edges" and i:
                    ag = "%.3f within 1 px, %.4f equal; %d vs %d edge px" % (
                        r["edge_agreement_1px"], r["edge_exact_equal"], r["edge_pixels"],
                        r["edge_pixels_pdeimg"])
                elif p["kind"] == "dilate" and i:
                    ag = "%.4f equal (interior %.4f), max \\|Δ\\| %.3g" % (
                        r["share_equal"], r["share_equal_interior"], r["max_abs_diff"])
                elif p["kind"] == "pm" and i:
                    ag = "not comparable (other discretisation and K)"
                else:
                    ag = "reference"
                L.append("| %s | %s | %.4f | %s | %s | %s |" % (
                    p["name"] if i == 0 else "", r["tool"], r["best_s"],
                    " ".join("%.4f" % t for t in r["times_s"]),
                    "1" if i == 0 else "%.2f" % r["ratio_to_pdeimg"], ag))
        L.append("")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pdeimg-apps", required=True, help="folder holding denoise, smooth, ...")
    ap.add_argument("--itk-runner", required=True)
    ap.add_argument("--gmic", default="gmic")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="out/peers")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sigmas", default="15,25,50")
    ap.add_argument("--train-images", type=int, default=6)
    ap.add_argument("--set12-limit", type=int, default=0, help="first N Set12 images (0: all)")
    ap.add_argument("--nlm-limit", type=int, default=0,
                    help="NL-means on the first N Set12 images only (0: all)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", choices=["quality", "speed"])
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="peers-")
    tools = {"work": work, "pdeimg": Pdeimg(args.pdeimg_apps, args.threads, work),
             "itk": Itk(args.itk_runner, args.threads, work),
             "gmic": Gmic(args.gmic, args.threads, work)}
    cpu = platform.processor()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    res = {"threads": args.threads,
           "command": " ".join(sys.argv),
           "machine": {"cpu": cpu, "cpus": os.cpu_count(),
                       "load_before": "%.2f" % os.getloadavg()[0]},
           "versions": {"pdeimg": tools["pdeimg"].version().replace("\n", " "),
                        "ITK": tools["itk"].banner.split()[1],
                        "G'MIC": tools["gmic"].version(), "scikit-image": skimage.__version__,
                        "SciPy": scipy.__version__, "NumPy": np.__version__,
                        "PyWavelets": pywt.__version__,
                        "Python": platform.python_version()}}
    t0 = time.time()
    try:
        if args.only in (None, "quality"):
            print("quality (Set12, sigmas %s):" % args.sigmas, flush=True)
            quality(tools, args, res)
        if args.only in (None, "speed"):
            print("speed:", flush=True)
            speed(tools, args, res)
    finally:
        tools["itk"].close()
        shutil.rmtree(work, ignore_errors=True)
    res["machine"]["load_after"] = "%.2f" % os.getloadavg()[0]
    res["wall_s"] = time.time() - t0
    json.dump(res, open(os.path.join(args.out, "results.json"), "w"), indent=1)
    md = markdown(res)
    open(os.path.join(args.out, "results.md"), "w").write(md + "\n")
    print()
    print(md)
    print("\n(%.0f s; %s)" % (res["wall_s"], os.path.join(args.out, "results.json")))


if __name__ == "__main__":
    main()
