"""Writes the fixtures of gantry's StarGAN v2 data tests (tests/stargan_v2_data.rs).

Run from the repository root with torch, torchvision, pillow and numpy importable:
    python3 tests/reference/make_stargan_v2_data.py
Regenerate, never edit: the tests read only what this script writes, into
tests/fixtures/stargan_v2/:

  input.png        a 40x30 RGB image (a gradient, a frame and noise) the crops are taken of
  data.txt         one record a line:
    crop <i> <j> <h> <w> <size> <flip> <output.png>
        clovaai/stargan-v2's train transform with the crop taken: torchvision's
        resized_crop(img, i, j, h, w, [size, size]) (PIL bilinear), Resize([size, size]),
        a horizontal flip when <flip> is 1, ToTensor and Normalize(0.5, 0.5)
    plain <size> <flip> <output.png>
        the same transform when the random crop is not taken
    params <width> <height> <i> <j> <h> <w> <n> <scale_1> <aspect_1> ... <scale_n> <aspect_n> <top> <left>
        what RandomResizedCrop.get_params(scale (0.8, 1), ratio (0.9, 1.1)) returned for an
        image of that size, and the draws it made: n attempts, each the area fraction and
        the aspect ratio (the float32 values torch drew, written exactly), then the two
        torch.randint results (-1 when every attempt failed and the central fallback crop
        was taken)
    normalize <256 floats>   the float32 each grey level becomes under ToTensor + Normalize
  Outputs are 8-bit PNGs: the script checks that the float output equals normalize[png]
  exactly, so nothing is lost.
"""

import math
import os
import sys

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "stargan_v2")
SCALE = [0.8, 1.0]
RATIO = [0.9, 1.1]


def to_values(img):
    """ToTensor then Normalize(0.5, 0.5), as the reference's train transform ends."""
    norm = T.Compose([T.ToTensor(), T.Normalize(mean=[0.5] * 3, std=[0.5] * 3)])
    return norm(img).numpy()


def train_transform(img, size, box, flip):
    """The reference's train transform with its draws given: the crop (or None), the flip."""
    if box is not None:
        i, j, h, w = box
        img = F.resized_crop(img, i, j, h, w, [size, size], T.InterpolationMode.BILINEAR)
    img = T.Resize([size, size])(img)
    if flip:
        img = F.hflip(img)
    return img, to_values(img)


def replay_params(width, height, seed):
    """RandomResizedCrop.get_params for an image of this size under torch.manual_seed(seed),
    and the same draws replayed one by one (checked to give the same box)."""
    img = Image.new("RGB", (width, height))
    torch.manual_seed(seed)
    expected = T.RandomResizedCrop.get_params(img, SCALE, RATIO)
    torch.manual_seed(seed)
    area = height * width
    log_ratio = torch.log(torch.tensor(RATIO))
    attempts, top, left, box = [], -1, -1, None
    for _ in range(10):
        scale = torch.empty(1).uniform_(SCALE[0], SCALE[1]).item()
        aspect = torch.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1])).item()
        attempts.append((scale, aspect))
        target = area * scale
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = torch.randint(0, height - h + 1, size=(1,)).item()
            left = torch.randint(0, width - w + 1, size=(1,)).item()
            box = (top, left, h, w)
            break
    if box is None:
        in_ratio = width / height
        if in_ratio < min(RATIO):
            w, h = width, int(round(width / min(RATIO)))
        elif in_ratio > max(RATIO):
            h, w = height, int(round(height * max(RATIO)))
        else:
            w, h = width, height
        box = ((height - h) // 2, (width - w) // 2, h, w)
    assert tuple(box) == tuple(expected), (width, height, seed, box, expected)
    draws = " ".join(f"{s!r} {a!r}" for s, a in attempts)
    i, j, h, w = expected
    return f"params {width} {height} {i} {j} {h} {w} {len(attempts)} {draws} {top} {left}"


def main():
    os.makedirs(OUT, exist_ok=True)
    y, x = np.mgrid[0:30, 0:40]
    pixels = np.stack([x * 255 // 39, y * 255 // 29, (x * 7 + y * 13) % 256], axis=-1)
    pixels[5:25, 8:30] = 255  # a white frame around a black block, off centre
    pixels[8:22, 11:27] = 0
    pixels[:, 3] = (255, 0, 0)  # a column and a row that show an offset by one
    pixels[27, :] = (0, 0, 255)
    noise = np.random.default_rng(5).integers(0, 256, (30, 40, 3))
    pixels[14:18, 30:38] = noise[14:18, 30:38]
    img = Image.fromarray(pixels.astype(np.uint8), "RGB")
    img.save(os.path.join(OUT, "input.png"))

    grey = np.arange(256, dtype=np.uint8)
    normalize = to_values(Image.fromarray(np.stack([grey] * 3, axis=-1)[None], "RGB"))[0, 0]
    lines = []
    # (i, j, h, w): a crop near the top left, one at the bottom right edge, a whole-height
    # one, a nearly square one, and one smaller than the output (so the resize enlarges).
    boxes = [(0, 0, 27, 30), (3, 10, 27, 30), (0, 7, 30, 31), (2, 5, 25, 26), (11, 17, 12, 13)]
    for k, box in enumerate(boxes):
        for flip in [False, True]:
            out, values = train_transform(img, 16, box, flip)
            assert (normalize[np.asarray(out).transpose(2, 0, 1)] == values).all()
            name = f"crop{k}{'_flip' if flip else ''}.png"
            out.save(os.path.join(OUT, name))
            i, j, h, w = box
            lines.append(f"crop {i} {j} {h} {w} 16 {int(flip)} {name}")
    for size in [16, 24]:
        for flip in [False, True]:
            out, values = train_transform(img, size, None, flip)
            assert (normalize[np.asarray(out).transpose(2, 0, 1)] == values).all()
            name = f"plain{size}{'_flip' if flip else ''}.png"
            out.save(os.path.join(OUT, name))
            lines.append(f"plain {size} {int(flip)} {name}")
    # Sizes that mostly succeed at once, a tiny one, and two whose aspect ratios no attempt
    # can meet (the central fallback crop, on either side of the ratio range).
    for width, height in [(40, 30), (256, 256), (33, 47), (2, 2), (10, 100), (100, 10)]:
        for seed in [0, 1, 7, 1234]:
            lines.append(replay_params(width, height, seed))
    lines.append("normalize " + " ".join(repr(float(v)) for v in normalize))
    header = (
        f"# Written by tests/reference/make_stargan_v2_data.py (Python {sys.version.split()[0]}, "
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, Pillow {Image.__version__}); "
        "regenerate, never edit.\n"
    )
    with open(os.path.join(OUT, "data.txt"), "w", newline="\n") as f:
        f.write(header)
        f.writelines(line + "\n" for line in lines)


if __name__ == "__main__":
    main()
