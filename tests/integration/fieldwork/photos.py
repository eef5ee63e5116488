"""Photos for the field-work tests: seeded block noise, so each has its own perceptual hash."""

from __future__ import annotations

import io
import random
import uuid

from PIL import Image


def jpeg() -> bytes:
    rng = random.Random(uuid.uuid4().int)
    small = Image.new("RGB", (16, 12))
    small.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(16 * 12)])
    buffer = io.BytesIO()
    small.resize((320, 240), Image.Resampling.NEAREST).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


async def upload(app_client, headers) -> int:
    """A photo uploaded through the API (pending: the ledger links pending photos)."""
    response = await app_client.post("/api/v1/evidence", headers=headers, files={"data": ("p.jpg", jpeg(), "image/jpeg")})
    assert response.status_code == 202, response.text
    return response.json()["id"]
