"""Generated test photos (nothing binary is committed)."""

from __future__ import annotations

import random

from PIL import Image, ImageDraw


def noise(size: tuple[int, int], sigma: float, rng: random.Random) -> Image.Image:
    """Grey sensor noise around mid-grey with standard deviation ``sigma``, drawn from ``rng``: the
    same every run (Pillow's ``effect_noise`` uses its own unseeded generator, which made a photo —
    and so whether a borderline copy still matched — differ from run to run)."""
    spread = round(sigma * 3 ** 0.5)  # uniform on [-spread, spread] has standard deviation spread / sqrt(3)
    raw = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    return raw.point(lambda v: 128 - spread + (v * (2 * spread + 1)) // 256)


def photo(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A 'photo': a gradient in a seed-dependent direction plus random shapes and mild noise."""
    rng = random.Random(seed)
    w, h = size
    gradient = Image.linear_gradient("L").rotate(rng.choice([0, 90, 180, 270])).resize(size)
    base = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                               Image.new("L", size, rng.randrange(256))))
    draw = ImageDraw.Draw(base)
    for _ in range(12):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        box = (x0, y0, x0 + rng.randrange(w // 8, w // 2), y0 + rng.randrange(h // 8, h // 2))
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    return Image.blend(base, noise(size, 12, rng).convert("RGB"), 0.08)
