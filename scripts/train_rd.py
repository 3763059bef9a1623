#!/usr/bin/python3
"""Trains pdeimg's learned reaction-diffusion denoiser (docs/rd-model-format.md).

  scripts/train-models.sh                                  # retrains models/default.rdm
  scripts/train_rd.py train --part gray --out gray.rdm     # one network of it
  scripts/train_rd.py golden --out tests/data             # the forward-pass golden case
  scripts/train_rd.py eval --model models/default.rdm     # Set12 PSNR at sigma 15/25/50

Uses Debian's python3-torch on the CPU with one thread (two threads are slower when another
process holds a core). Fixed seeds: the same command gives the same model on the same machine.
Trains on ../shared/data/train400 (grey) and ../shared/data/bsds500-train (colour, for the chroma
network); validates on set12 only. The library never runs this code; the golden test keeps the
C++ forward pass equal to forward() below.
"""
import argparse
import glob
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data")
NOISE = 25.0  # the noise deviation the networks are trained for (8-bit units)


# ----------------------------------------------------------------------------------------------
# The model: exactly docs/rd-model-format.md
# ----------------------------------------------------------------------------------------------

_index_cache = {}


def reflect_index(n, pad):
    """Half-sample symmetric reflection, repeating with period 2n (pdeimg's boundary)."""
    key = (n, pad)
    if key not in _index_cache:
        i = np.arange(-pad, n + pad) % (2 * n)
        i = np.where(i >= n, 2 * n - 1 - i, i)
        _index_cache[key] = torch.from_numpy(i.astype(np.int64))
    return _index_cache[key]


def pad_sym(x, pad):
    h, w = x.shape[-2:]
    return x.index_select(-2, reflect_index(h, pad)).index_select(-1, reflect_index(w, pad))


def dct_filters(n, m):
    """The first n non-constant 2-D DCT-II basis functions of size m x m (by frequency), unit norm."""
    def basis(k):
        x = np.arange(m)
        b = np.cos(np.pi * (x + 0.5) * k / m)
        return b / np.linalg.norm(b)
    pairs = sorted(((a, b) for a in range(m) for b in range(m) if (a, b) != (0, 0)),
                   key=lambda p: (p[0] + p[1], max(p), p))
    out = [np.outer(basis(a), basis(b)) for a, b in pairs[:n]]
    while len(out) < n:  # more filters than basis functions: random zero-mean ones
        r = np.random.RandomState(len(out)).randn(m, m)
        r -= r.mean()
        out.append(r / np.linalg.norm(r))
    return np.stack(out)


class Network(torch.nn.Module):
    def __init__(self, stages=5, filters=24, size=5, knots=63, lo=-310.0, hi=310.0):
        super().__init__()
        self.T, self.N, self.m, self.K, self.lo, self.hi = stages, filters, size, knots, lo, hi
        self.h = (hi - lo) / (knots - 1)
        k0 = torch.tensor(dct_filters(filters, size), dtype=torch.float32)
        self.w = torch.nn.Parameter(k0.unsqueeze(0).repeat(stages, 1, 1, 1).clone())
        x = torch.linspace(lo, hi, knots)
        gamma = 30.0
        v0 = (1.0 / 25.0) * x / (1.0 + (x / gamma) ** 2)  # a Perona-Malik flux
        self.v = torch.nn.Parameter(v0.view(1, 1, knots).repeat(stages, filters, 1).clone())
        self.loglam = torch.nn.Parameter(torch.full((stages,), math.log(0.05)))
        centre = torch.ones(knots)
        zero = (0.0 - lo) / self.h
        if abs(zero - round(zero)) < 1e-6:
            centre[int(round(zero))] = 0.0  # phi(0) = 0: the offset of phi has no effect anyway
        self.register_buffer("knot_mask", centre)

    def filters(self, t):
        w = self.w[t]
        return w - w.mean(dim=(-1, -2), keepdim=True)

    def phis(self, t):
        return self.v[t] * self.knot_mask

    def lam(self, t):
        return torch.exp(self.loglam[t])

    def phi(self, t, z):
        s = ((z - self.lo) / self.h).clamp(0, self.K - 1)
        j = s.detach().floor().clamp(max=self.K - 2)
        w = s - j
        idx = j.long() + (torch.arange(self.N) * self.K).view(1, self.N, 1, 1)
        flat = self.phis(t).reshape(-1)
        v0 = flat[idx]
        v1 = flat[idx + 1]
        return v0 + w * (v1 - v0)

    def stage(self, t, u, f):
        k = self.filters(t).to(u.dtype)
        c = self.m // 2
        z = F.conv2d(pad_sym(u, c), k.unsqueeze(1))
        y = self.phi(t, z)
        kb = torch.flip(k, dims=(-2, -1)).unsqueeze(0)
        r = F.conv2d(pad_sym(y, c), kb)
        return u - r - self.lam(t).to(u.dtype) * (u - f)

    def forward(self, f, stages=None):
        u = f
        for t in range(self.T if stages is None else stages):
            u = self.stage(t, u, f)
        return u


def write_network(out, role, net):
    def row(values):
        return " ".join("%.9g" % float(v) for v in values)
    out.append("network %s" % role)
    out.append("  stages %d" % net.T)
    out.append("  filters %d" % net.N)
    out.append("  size %d" % net.m)
    out.append("  knots %d %.9g %.9g" % (net.K, net.lo, net.hi))
    with torch.no_grad():
        for t in range(net.T):
            out.append("  stage")
            out.append("    lambda %.9g" % float(net.lam(t)))
            k = net.filters(t)
            p = net.phis(t)
            for i in range(net.N):
                out.append("    filter " + row(k[i].reshape(-1)))
                out.append("    phi " + row(p[i]))


def save_model(path, name, networks, comment=""):
    """networks: list of (role, Network or the role it reuses)."""
    out = ["# pdeimg learned reaction-diffusion model (docs/rd-model-format.md)"]
    if comment:
        out += ["# " + line for line in comment.splitlines()]
    out += ["pdeimg-rd 1", "name " + name, "noise %g" % NOISE]
    for role, net in networks:
        if isinstance(net, str):
            out.append("network %s = %s" % (role, net))
        else:
            write_network(out, role, net)
    out.append("end")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def load_model(path):
    """Reads a model file written by save_model (no validation: the library does that)."""
    tokens = []
    for line in open(path):
        tokens += line.split("#", 1)[0].split()
    pos = 0

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]
    assert take() == "pdeimg-rd" and take() == "1"
    nets = {}
    while True:
        key = take()
        if key == "end":
            return nets
        if key in ("name", "noise"):
            take()
            continue
        assert key == "network"
        role = take()
        if tokens[pos] == "=":
            take()
            nets[role] = nets[take()]
            continue
        hdr = {}
        for _ in range(4):
            k = take()
            hdr[k] = [take()] if k != "knots" else [take(), take(), take()]
        net = Network(int(hdr["stages"][0]), int(hdr["filters"][0]), int(hdr["size"][0]),
                      int(hdr["knots"][0]), float(hdr["knots"][1]), float(hdr["knots"][2]))
        with torch.no_grad():
            net.knot_mask.fill_(1.0)
            for t in range(net.T):
                assert take() == "stage" and take() == "lambda"
                net.loglam[t] = math.log(max(float(take()), 1e-30))
                for i in range(net.N):
                    assert take() == "filter"
                    net.w[t, i] = torch.tensor([float(take()) for _ in range(net.m ** 2)]).view(net.m, net.m)
                    assert take() == "phi"
                    net.v[t, i] = torch.tensor([float(take()) for _ in range(net.K)])
        nets[role] = net


# ----------------------------------------------------------------------------------------------
# Denoising an image as the library does (channel order B, G, R like pdeimg/OpenCV)
# ----------------------------------------------------------------------------------------------

def opponent(bgr):
    b, g, r = bgr[..., 0], bgr[..., 1], bgr[..., 2]
    return np.stack([(r + g + b) / math.sqrt(3), (r - b) / math.sqrt(2),
                     (r - 2 * g + b) / math.sqrt(6)], axis=-1)


def opponent_inverse(ycc):
    y, c1, c2 = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    r = y / math.sqrt(3) + c1 / math.sqrt(2) + c2 / math.sqrt(6)
    g = y / math.sqrt(3) - 2 * c2 / math.sqrt(6)
    b = y / math.sqrt(3) - c1 / math.sqrt(2) + c2 / math.sqrt(6)
    return np.stack([b, g, r], axis=-1)


def run_network(net, plane, sigma, dtype=torch.float32):
    s = NOISE / sigma
    f = torch.from_numpy(plane * s).to(dtype).view(1, 1, *plane.shape)
    with torch.no_grad():
        net64 = net.double() if dtype == torch.float64 else net.float()
        u = net64(f)
    net.float()
    return u.view(*plane.shape).numpy().astype(np.float64) / s


def denoise(nets, image, sigma, dtype=torch.float32):
    """image: H x W (grey) or H x W x 3 (B, G, R), float64, sample units."""
    if sigma <= 0:
        return image.copy()
    if image.ndim == 2:
        return run_network(nets["gray"], image, sigma, dtype)
    ycc = opponent(image)
    out = np.stack([run_network(nets["luma"], ycc[..., 0], sigma, dtype),
                    run_network(nets["chroma"], ycc[..., 1], sigma, dtype),
                    run_network(nets["chroma"], ycc[..., 2], sigma, dtype)], axis=-1)
    return opponent_inverse(out)


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------

def load_gray(folder):
    files = sorted(glob.glob(os.path.join(folder, "*.png")))
    if not files:
        sys.exit("no training images in %s" % folder)
    return [np.asarray(Image.open(p).convert("L"), dtype=np.float32) for p in files]


def load_chroma(folder):
    files = sorted(glob.glob(os.path.join(folder, "*.jpg")))
    if not files:
        sys.exit("no training images in %s" % folder)
    planes = []
    for p in files:
        rgb = np.asarray(Image.open(p).convert("RGB"), dtype=np.float64)
        ycc = opponent(rgb[..., ::-1])
        planes += [ycc[..., 1].astype(np.float32), ycc[..., 2].astype(np.float32)]
    return planes


class Batches:
    def __init__(self, images, crop, batch, sigma_lo, sigma_hi, seed):
        self.images, self.crop, self.batch = images, crop, batch
        self.sigma_lo, self.sigma_hi = sigma_lo, sigma_hi
        self.rng = np.random.RandomState(seed)
        self.gen = torch.Generator().manual_seed(seed)

    def next(self):
        c = self.crop
        out = np.empty((self.batch, 1, c, c), np.float32)
        for b in range(self.batch):
            im = self.images[self.rng.randint(len(self.images))]
            y = self.rng.randint(im.shape[0] - c + 1)
            x = self.rng.randint(im.shape[1] - c + 1)
            p = im[y:y + c, x:x + c]
            p = np.rot90(p, self.rng.randint(4))
            if self.rng.randint(2):
                p = p[:, ::-1]
            out[b, 0] = p
        clean = torch.from_numpy(out)
        sigma = torch.from_numpy(self.rng.uniform(self.sigma_lo, self.sigma_hi, self.batch)
                                 .astype(np.float32)).view(-1, 1, 1, 1)
        noisy = clean + sigma * torch.randn(clean.shape, generator=self.gen)
        s = NOISE / sigma
        return noisy * s, clean * s


def psnr(clean, out):
    o = np.clip(np.round(out), 0, 255)
    mse = np.mean((clean.astype(np.float64) - o) ** 2)
    return 10 * math.log10(255.0 ** 2 / mse)


def eval_set12(net, sigmas=(15, 25, 50), seed=0):
    files = sorted(glob.glob(os.path.join(DATA, "set12", "*.png")))
    res = {}
    for sigma in sigmas:
        rng = np.random.RandomState(seed)
        vals = []
        for p in files:
            clean = np.asarray(Image.open(p).convert("L"), dtype=np.float64)
            noisy = clean + sigma * rng.randn(*clean.shape)
            vals.append(psnr(clean, run_network(net, noisy, sigma)))
        res[sigma] = float(np.mean(vals))
    return res


# ----------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------

def train_network(images, args, seed, label, log):
    torch.manual_seed(seed)
    net = Network(args.stages, args.filters, args.size, args.knots)
    data = Batches(images, args.crop, args.batch, args.sigma_lo, args.sigma_hi, seed)
    t0 = time.time()

    def step(opt, stages, sched=None):
        f, clean = data.next()
        u = net(f, stages)
        loss = F.mse_loss(u, clean)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched:
            sched.step()
        return float(loss)

    # Greedy: stage t is trained as the last stage, the earlier ones kept.
    for t in range(net.T):
        groups = [{"params": [net.w], "lr": 5e-3}, {"params": [net.v], "lr": 2e-2},
                  {"params": [net.loglam], "lr": 1e-2}]
        opt = torch.optim.Adam(groups)
        keep = [p.detach().clone() for p in (net.w, net.v, net.loglam)]
        for it in range(args.greedy):
            step(opt, t + 1)
            with torch.no_grad():  # only stage t moves
                for p, k in zip((net.w, net.v, net.loglam), keep):
                    p[:t] = k[:t]
                    if t + 1 < net.T:
                        p[t + 1:] = k[t + 1:]
        with torch.no_grad():  # the next stage starts where this one ended
            if t + 1 < net.T:
                net.w[t + 1] = net.w[t]
                net.v[t + 1] = net.v[t]
                net.loglam[t + 1] = net.loglam[t]
        log("%s greedy stage %d done, %.0f s" % (label, t + 1, time.time() - t0))

    groups = [{"params": [net.w], "lr": 5e-3}, {"params": [net.v], "lr": 2e-2},
              {"params": [net.loglam], "lr": 1e-2}]
    opt = torch.optim.Adam(groups)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: 0.5 * (1 + math.cos(math.pi * min(i, args.joint) / args.joint)))
    run = 0.0
    for it in range(args.joint):
        run = 0.98 * run + 0.02 * step(opt, None, sched)
        if (it + 1) % 500 == 0:
            log("%s joint %d/%d loss %.3f, %.0f s" % (label, it + 1, args.joint, run, time.time() - t0))
    return net


def cmd_train(args):
    torch.set_num_threads(1)
    logf = open(args.out + ".log", "w")

    def log(msg):
        print(msg, flush=True)
        logf.write(msg + "\n")
        logf.flush()

    log("training %s: %s" % (args.out, vars(args)))
    comment = "trained by scripts/train_rd.py train %s" % " ".join(sys.argv[2:])
    nets = []
    if args.part in ("gray", "all"):
        gray = train_network(load_gray(os.path.join(DATA, "train400")), args, 1, "gray", log)
        log("gray Set12 PSNR (true sigma): %s" % eval_set12(gray))
        nets += [("gray", gray), ("luma", "gray")]
        save_model(args.out, args.name, nets, comment)
    if args.part in ("chroma", "all"):
        chroma_args = argparse.Namespace(**vars(args))
        chroma_args.joint = args.joint_chroma
        chroma = train_network(load_chroma(os.path.join(DATA, "bsds500-train")), chroma_args, 2,
                               "chroma", log)
        nets.append(("chroma", chroma))
        save_model(args.out, args.name, nets, comment)
    log("wrote %s" % args.out)


def cmd_merge(args):
    """Joins the gray/luma networks of one file and the chroma network of another."""
    gray, chroma = load_model(args.gray), load_model(args.chroma)
    comment = "".join(l[2:] for f in (args.gray, args.chroma) for l in open(f)
                      if l.startswith("# trained by"))
    save_model(args.out, args.name, [("gray", gray["gray"]), ("luma", "gray"),
                                     ("chroma", chroma["chroma"])],
               "gray/luma: train400; chroma: bsds500-train opponent chroma\n" + comment)


def cmd_eval(args):
    torch.set_num_threads(1)
    nets = load_model(args.model)
    print(eval_set12(nets["gray"]))


def cmd_golden(args):
    """A small model with every feature (reflection of narrow images, clamped knots), an input and
    the float64 output of denoise() for a grey and a colour image."""
    rng = np.random.RandomState(7)
    torch.manual_seed(7)
    nets = []
    for role, (T, N, m, K) in (("gray", (2, 3, 5, 9)), ("chroma", (3, 2, 3, 5))):
        net = Network(T, N, m, K, -40.0, 40.0)
        with torch.no_grad():
            net.w += 0.3 * torch.randn(net.w.shape)
            net.v.copy_(4.0 * torch.randn(net.v.shape))
            net.loglam.copy_(torch.tensor(rng.uniform(-3, -0.5, T)))
        nets.append((role, net))
    os.makedirs(args.out, exist_ok=True)
    model_path = os.path.join(args.out, "rd_golden.rdm")
    save_model(model_path, "golden", [nets[0], ("luma", "gray"), nets[1]],
               "golden case for tests/reaction_diffusion_test.cpp: scripts/train_rd.py golden")
    loaded = load_model(model_path)  # what the file says (9 digits), not the unrounded weights
    lines = ["# input and float64 output of scripts/train_rd.py denoise() with rd_golden.rdm",
             "pdeimg-rd-golden 1"]
    for (w, h, c, sigma) in ((13, 11, 1, 20.0), (2, 7, 1, 9.0), (9, 6, 3, 30.0)):
        shape = (h, w) if c == 1 else (h, w, c)
        image = np.round(rng.uniform(0, 255, shape) * 4) / 4  # exact in float32
        out = denoise(loaded, image, sigma, torch.float64)
        lines.append("case %d %d %d %.9g" % (w, h, c, sigma))
        lines.append("input " + " ".join("%.9g" % v for v in image.reshape(-1)))
        lines.append("output " + " ".join("%.9g" % v for v in out.reshape(-1)))
    lines.append("end")
    with open(os.path.join(args.out, "rd_golden.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", model_path, os.path.join(args.out, "rd_golden.txt"))


def cmd_init(args):
    """The untrained (Perona-Malik-initialised) model, for building and testing before training."""
    net = Network(args.stages, args.filters, args.size, args.knots)
    save_model(args.out, args.name, [("gray", net), ("luma", "gray"), ("chroma", "gray")],
               "untrained: Perona-Malik flux, DCT filters (scripts/train_rd.py init)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("train", "init"):
        p = sub.add_parser(name)
        p.add_argument("--out", required=True)
        p.add_argument("--name", default="rd-5x5x24-v1")
        p.add_argument("--stages", type=int, default=5)
        p.add_argument("--filters", type=int, default=24)
        p.add_argument("--size", type=int, default=5)
        p.add_argument("--knots", type=int, default=63)
        p.add_argument("--crop", type=int, default=64)
        p.add_argument("--batch", type=int, default=16)
        p.add_argument("--sigma-lo", type=float, default=10.0)
        p.add_argument("--sigma-hi", type=float, default=55.0)
        p.add_argument("--greedy", type=int, default=300)
        p.add_argument("--joint", type=int, default=6000)
        p.add_argument("--joint-chroma", type=int, default=3000)
        p.add_argument("--part", choices=("gray", "chroma", "all"), default="all")
    p = sub.add_parser("merge")
    p.add_argument("--gray", required=True)
    p.add_argument("--chroma", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--name", default="rd-5x5x24-v1")
    p = sub.add_parser("golden")
    p.add_argument("--out", required=True)
    p = sub.add_parser("eval")
    p.add_argument("--model", required=True)
    args = ap.parse_args()
    {"train": cmd_train, "golden": cmd_golden, "eval": cmd_eval, "init": cmd_init,
     "merge": cmd_merge}[args.cmd](args)


if __name__ == "__main__":
    main()
