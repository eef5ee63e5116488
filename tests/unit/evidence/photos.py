"""Generated test photos (nothing binary is committed)."""

from __future__ import annotations

import random

from PIL import Image, ImageDraw


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
    noise = Image.effect_noise(size, 12).convert("RGB")
    return Image.blend(base, noise, 0.08)
