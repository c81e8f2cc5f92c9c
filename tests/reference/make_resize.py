"""Writes the golden outputs of PIL's Image.resize for gantry's resize tests.

Run from the repository root with a Python that has pillow, numpy and safetensors:
    python tests/reference/make_resize.py
It writes tests/fixtures/resize.safetensors, all tensors uint8 [height, width, 3]:
    "<image>/input"                    the source image
    "<image>/<filter>/<width>x<height>" PIL's Image.resize((width, height), filter) of it
Regenerate, never edit: tests/resize.rs reads only what this script writes.

The reference repos resize PIL images through torchvision's Resize, which calls
Image.resize with no box and no reducing_gap, exactly as here: CycleGAN and pix2pix with
BICUBIC, StarGAN v1 and v2 with BILINEAR. NEAREST is stored too. Made with Pillow 13.0.0,
whose choice of which pass runs first differs from Pillow 12 (see CASES).

The images mix smooth gradients, noise and hard black/white edges: the edges make bicubic
overshoot past 0 and 255, so the clipping after each pass is exercised.
"""

import os

import numpy as np
import PIL
from PIL import Image
from safetensors.numpy import save_file

OUT_PATH = os.path.join(os.path.dirname(__file__), "..", "fixtures", "resize.safetensors")
rng = np.random.default_rng(7)


def structured(width, height):
    """Gradients along each axis (one per channel), noise, and a black block in a white frame."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.stack([255 * x / (width - 1), 255 * y / (height - 1), 127 + 100 * np.sin(x / 3 + y / 5)], axis=-1)
    img += rng.normal(0, 25, img.shape)
    x0, y0 = width // 4, height // 3
    img[y0 : y0 + height // 3, x0 : x0 + width // 3] = 255
    img[y0 + 2 : y0 + height // 3 - 2, x0 + 2 : x0 + width // 3 - 2] = 0
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


# (source width, source height) -> target sizes (width, height): up 2.3x, down 3.1x, down by
# fractions that are not integers, one axis up and the other down, and 1-pixel targets.
# Pillow 13 runs the vertical pass first when the height loses more than twice as many
# pixels as the width (90x20, 60x10, 54x27, 11x2); 54x28 sits on that boundary and runs
# the horizontal pass first.
CASES = {
    "small": ((37, 23), [(85, 53), (12, 7), (26, 17), (19, 40), (36, 23), (1, 1)]),
    "large": ((64, 48), [(21, 15), (45, 31), (90, 20), (60, 10), (54, 28), (54, 27), (17, 61), (64, 47), (1, 5)]),
    "tiny": ((5, 3), [(2, 7), (11, 2), (13, 9)]),
}
FILTERS = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}

out = {}
for name, ((w, h), targets) in CASES.items():
    src = structured(w, h)
    out[f"{name}/input"] = src
    img = Image.fromarray(src, "RGB")
    for fname, f in FILTERS.items():
        for tw, th in targets:
            out[f"{name}/{fname}/{tw}x{th}"] = np.ascontiguousarray(np.asarray(img.resize((tw, th), f)))

save_file(out, OUT_PATH)
print(f"Pillow {PIL.__version__}: wrote {len(out)} tensors, {os.path.getsize(OUT_PATH)} bytes, to {OUT_PATH}")
