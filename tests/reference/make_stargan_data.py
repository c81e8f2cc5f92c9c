"""Writes the fixtures of gantry's StarGAN v1 data tests (tests/stargan_data.rs).

Run from the repository root:
    python3 tests/reference/make_stargan_data.py
The random-module and split fixtures need nothing but Python 3.11's standard library. The
transform fixtures need pillow and numpy; with torchvision importable they are made by
torchvision's own transforms and checked against the PIL reimplementation below, without
it by that reimplementation alone. Regenerate, never edit: the tests read only what this
script writes, into tests/fixtures/stargan/:

  random.txt     A replay log of random.Random calls after each seed, one per line:
                   seed <n>              random.seed(n)
                   random <m>            random() returned m / 2**53 (exact: 53-bit floats)
                   getrandbits <k> <v>   getrandbits(k) returned v
                   randbelow <n> <v>     _randbelow(n) returned v
                   skip <count>          count calls of getrandbits(32), results not kept
  shuffle.txt    shuffle <seed> <n> <p0> <p1> ...    random.seed(seed); shuffle(list(range(n)))
                 sampled <seed> <n> <fnv> <i>:<p_i> ...  the same for larger n: FNV-1a 64
                   of the text "p0\\np1\\n...", and the values at some positions
  split.txt      StarGAN v1's CelebA split of a synthetic list_attr_celeba.txt:
                   names <40 attribute names>    line 2 of the file
                   file <lines> <fnv>            image lines, FNV-1a 64 of the whole file
                   selected <name> ...           one selection of attributes, in order
                   split test|train <count>      then <count> lines in the split's order:
                   <filename> <bits> ...         one 0/1 per attribute, one word per selection
  image_folder.txt  A folder tree and the order torchvision's ImageFolder gives it:
                   file <path>             an (empty) file to create
                   link <path> <target>    a symlink to a folder
                   class <name>            the classes by index
                   sample <path> <index>   the samples in order
  transform.txt  case <name> <input.png> <crop> <image_size> <flip> <output.png>
                 normalize <256 floats>        the float torchvision gives each grey level
                 Outputs are stored as 8-bit PNGs: the script checks that the float output
                 equals normalize[png] exactly, so nothing is lost.

The synthetic attribute file is not committed (it would be about 270 KB): its lines are a
formula, `value`, that the Rust test repeats; the FNV checksum proves both sides wrote
the same bytes.
"""

import os
import random
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "stargan")
HEADER = f"# Written by tests/reference/make_stargan_data.py (Python {sys.version.split()[0]}); regenerate, never edit.\n"

# CelebA's 40 attributes, in list_attr_celeba.txt's order.
CELEBA_ATTRS = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
    "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee "
    "Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard "
    "Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair "
    "Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()
# StarGAN v1's default --selected_attrs, and a second selection in a different order.
SELECTIONS = [["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"], ["Young", "Eyeglasses", "Male"]]
SYNTHETIC_LINES = 2100


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    return h


def write(name, lines):
    with open(os.path.join(OUT, name), "w", newline="\n") as f:
        f.write(HEADER)
        f.writelines(line + "\n" for line in lines)


def random_log():
    lines = []
    for seed in [1234, 0, 1, 2**32, 2**40 + 12345, 2**64 - 1]:
        r = random.Random()
        r.seed(seed)
        lines.append(f"seed {seed}")
        for _ in range(5):
            lines.append(f"random {int(r.random() * 2**53)}")
        for k in [0, 1, 5, 31, 32, 33, 48, 53, 63, 64]:
            lines.append(f"getrandbits {k} {r.getrandbits(k)}")
        for n in [1, 2, 3, 7, 10, 1000, 1999, 2**31 - 1, 2**31, 2**32 + 1, 202599, 2**63 + 5]:
            lines.append(f"randbelow {n} {r._randbelow(n)}")
        # Past two more regenerations of the 624-word state.
        lines.append("skip 1300")
        for _ in range(1300):
            r.getrandbits(32)
        lines.append(f"random {int(r.random() * 2**53)}")
        lines.append(f"getrandbits 64 {r.getrandbits(64)}")
    write("random.txt", lines)


def shuffled(seed, n):
    items = list(range(n))
    random.seed(seed)
    random.shuffle(items)
    return items


def shuffle_log():
    lines = []
    for seed, n in [(1234, n) for n in [1, 2, 3, 10]] + [(0, 10), (2**40 + 12345, 10)]:
        lines.append(f"shuffle {seed} {n} " + " ".join(map(str, shuffled(seed, n))))
    # Sizes around the test split's 1999 and CelebA's 202599 images: the checksum covers
    # the whole permutation, the samples say where a difference starts.
    for n, samples in [(1999, 40), (2000, 40), (2500, 40), (202599, 300)]:
        perm = shuffled(1234, n)
        fnv = fnv1a64("".join(f"{p}\n" for p in perm).encode())
        positions = sorted({0, 1, 2, 1998 % n, 1999 % n, n - 2, n - 1} | {(k * 677) % n for k in range(samples)})
        lines.append(f"sampled 1234 {n} {fnv} " + " ".join(f"{i}:{perm[i]}" for i in positions))
    write("shuffle.txt", lines)


def value(i, j):
    """The synthetic file's value for image i (1-based) and attribute j (0-based): ±1."""
    return 1 if (i * i * 7 + i * j * 3 + j * 11 + i // 5) % 5 < 2 else -1


def synthetic_attr_file():
    """list_attr_celeba.txt's layout: the count, the names with a trailing space, then
    '<file> <values>' with each value right-aligned in 2 characters (so '  1' between
    values), and CRLF line ends as in the real file."""
    lines = [str(SYNTHETIC_LINES), " ".join(CELEBA_ATTRS) + " "]
    for i in range(1, SYNTHETIC_LINES + 1):
        lines.append(f"{i:06d}.jpg " + " ".join(f"{value(i, j):2d}" for j in range(len(CELEBA_ATTRS))))
    return "".join(line + "\r\n" for line in lines)


def stargan_split(text, selections):
    """yunjey/stargan's CelebA.preprocess, verbatim but for reading from a string and for
    labelling with several selections at once."""
    lines = [line.rstrip() for line in text.splitlines(keepends=True)]
    attr2idx = {name: i for i, name in enumerate(lines[1].split())}
    lines = lines[2:]
    random.seed(1234)
    random.shuffle(lines)
    test, train = [], []
    for i, line in enumerate(lines):
        split = line.split()
        filename, values = split[0], split[1:]
        labels = [[values[attr2idx[a]] == "1" for a in selected] for selected in selections]
        (test if (i + 1) < 2000 else train).append((filename, labels))
    return test, train


def split_log():
    text = synthetic_attr_file()
    test, train = stargan_split(text, SELECTIONS)
    assert len(test) == 1999 and len(train) == SYNTHETIC_LINES - 1999
    lines = [f"names {' '.join(CELEBA_ATTRS)}", f"file {SYNTHETIC_LINES} {fnv1a64(text.encode())}"]
    lines += [f"selected {' '.join(s)}" for s in SELECTIONS]
    for name, items in [("test", test), ("train", train)]:
        lines.append(f"split {name} {len(items)}")
        for filename, labels in items:
            lines.append(filename + " " + " ".join("".join("1" if b else "0" for b in ls) for ls in labels))
    write("split.txt", lines)


IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
# Mixed-case extensions, non-images, nested folders whose names sort differently as strings
# ('-' and '.' before '/') than as path components, a folder named like an image, a file
# named only by an extension, a hidden class folder, a symlinked folder, a file at the root.
TREE_FILES = [
    "happy/b.PNG", "happy/a.jpg", "happy/notes.txt", "happy/A.png", "happy/.png", "happy/z.JPEG",
    "happy/sub/c.jpeg", "happy/sub/deeper/e.Tif", "happy/sub-x/d.webp", "happy/sub.x/f.pgm",
    "happy/subdir.jpg/g.ppm", "angry/x.bmp", "angry/y.tiff", "angry/readme.md", "Zeta/y.ppm",
    "Zeta/inner/w.jpg.bak", "Zeta/inner/v.JPG", ".extra/p.png", "root_file.jpg",
]
TREE_LINKS = [("happy/link", "../angry")]


def make_dataset(root):
    """torchvision's find_classes and make_dataset (datasets/folder.py), for ImageFolder."""
    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    samples = []
    for index, name in enumerate(classes):
        for folder, _, fnames in sorted(os.walk(os.path.join(root, name), followlinks=True)):
            for fname in sorted(fnames):
                path = os.path.join(folder, fname)
                if path.lower().endswith(IMG_EXTENSIONS):
                    samples.append((path, index))
    return classes, samples


def image_folder_log():
    import tempfile

    with tempfile.TemporaryDirectory() as root:
        for rel in TREE_FILES:
            os.makedirs(os.path.dirname(os.path.join(root, rel)) or root, exist_ok=True)
            open(os.path.join(root, rel), "w").close()
        for rel, target in TREE_LINKS:
            os.symlink(target, os.path.join(root, rel))
        classes, samples = make_dataset(root)
        try:
            from torchvision.datasets import ImageFolder
        except ImportError:
            print("torchvision is not importable: image_folder.txt comes from make_dataset above")
        else:
            theirs = ImageFolder(root)
            assert theirs.classes == classes and theirs.samples == samples
        lines = [f"file {rel}" for rel in TREE_FILES] + [f"link {rel} {target}" for rel, target in TREE_LINKS]
        lines += [f"class {name}" for name in classes]
        lines += [f"sample {os.path.relpath(path, root)} {index}" for path, index in samples]
    write("image_folder.txt", lines)


def transform_fixtures():
    try:
        import numpy as np
        from PIL import Image
    except ImportError as e:
        print(f"transform fixtures skipped: {e} (they need pillow and numpy)")
        return
    try:
        import torchvision.transforms as T
        import torchvision.transforms.functional as TF
    except ImportError:
        T = None
        print("torchvision is not importable: the transform fixtures come from the PIL reimplementation")

    def ours(img, crop, size, flip):
        """What StarGAN v1's transform does to a PIL image, written with PIL directly:
        hflip, torchvision's CenterCrop (zero padding first when the crop is larger,
        offsets by Python's round), Resize(size) of the square crop with BILINEAR,
        ToTensor, Normalize(0.5, 0.5), all in float32."""
        if flip:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        w, h = img.size
        if crop > w or crop > h:
            pw, ph = max(crop - w, 0), max(crop - h, 0)
            padded = Image.new("RGB", (w + pw, h + ph))
            padded.paste(img, (pw // 2, ph // 2))
            img, (w, h) = padded, padded.size
        top, left = int(round((h - crop) / 2.0)), int(round((w - crop) / 2.0))
        img = img.crop((left, top, left + crop, top + crop)).resize((size, size), Image.BILINEAR)
        x = np.asarray(img).transpose(2, 0, 1).astype(np.float32) / np.float32(255)
        return (x - np.float32(0.5)) / np.float32(0.5), np.asarray(img)

    def torchvision_output(img, crop, size, flip):
        steps = [T.RandomHorizontalFlip(p=1.0)] if flip else []
        steps += [T.CenterCrop(crop), T.Resize(size), T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)]
        return T.Compose(steps)(img).numpy()

    y, x = np.mgrid[0:218, 0:178]
    face = np.stack([x * 255 // 177, y * 255 // 217, ((x + 2 * y) // 13 % 2) * 200 + 30], axis=-1)
    face[60:150, 40:110] = 255  # a white block in a black frame, off centre
    face[64:146, 44:106] = 0
    face[:, 4] = face[:, 174] = (255, 0, 0)  # columns that a crop offset of 4 or 5 tells apart
    face[24, :] = (0, 0, 255)
    small = np.random.default_rng(11).integers(0, 256, (27, 43, 3))
    inputs = {"celeba": face.astype(np.uint8), "small": small.astype(np.uint8)}
    for name, pixels in inputs.items():
        Image.fromarray(pixels, "RGB").save(os.path.join(OUT, f"{name}.png"))

    # (input, crop, image_size): CelebA's 178 -> 128; a crop whose offsets are 4.5 and 24.5
    # (Python rounds both down, to even); a crop larger than the image's height (zero
    # padding 2 above, 3 below) whose left offset 5.5 rounds up; an enlarging resize with
    # offsets 9.5 and 1.5 (both round up).
    cases = [("celeba", 178, 128), ("celeba", 169, 64), ("small", 32, 20), ("small", 24, 37)]
    grey = np.arange(256, dtype=np.uint8)
    normalize = (grey.astype(np.float32) / np.float32(255) - np.float32(0.5)) / np.float32(0.5)
    lines = []
    for source, crop, size in cases:
        img = Image.open(os.path.join(OUT, f"{source}.png"))
        for flip in [False, True]:
            values, pixels = ours(img, crop, size, flip)
            if T is not None:
                theirs = torchvision_output(img, crop, size, flip)
                assert theirs.shape == values.shape and (theirs == values).all(), (source, crop, size, flip)
            assert (normalize[pixels.transpose(2, 0, 1)] == values).all()
            out = f"{source}_c{crop}_s{size}{'_flip' if flip else ''}.png"
            Image.fromarray(pixels, "RGB").save(os.path.join(OUT, out))
            lines.append(f"case {out[:-4]} {source}.png {crop} {size} {int(flip)} {out}")
    lines.append("normalize " + " ".join(repr(float(v)) for v in normalize))
    write("transform.txt", lines)
    print("transform fixtures made by " + ("torchvision, checked against PIL" if T else "PIL"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    random_log()
    shuffle_log()
    split_log()
    image_folder_log()
    transform_fixtures()
