"""Is this photo a reuse of that one? — the pure decision, and the detail measure behind it.

The perceptual hash (dHash) compares each of 8×9 grey cells with its right neighbour. On a
photo with little detail those comparisons say nothing about the photo: a blank wall, a white
sheet or a covered lens hashes to all zeros (equal cells), faint sensor noise flips bits at
random, and smooth lighting (a gradient, a vignette) gives the same few patterns to every flat
scene. Two unrelated flat photos would then "match". So each photo gets a *detail* figure, and a
perceptual hash below ``MIN_DETAIL`` is not used for reuse; byte-identical images (same
sha256 of the re-encoded image) still are.

detail = the smaller of
  * edge bits: comparisons whose cells differ by at least ``EDGE_MIN_LEVELS`` grey levels (so
    the bit is decided by the picture, not by noise: at 9×8 re-encoding moves a cell by < 1), and
  * bit changes: neighbouring hash bits (left/right or up/down, 112 pairs) that differ (smooth
    lighting gives rows of equal bits: 0 for a gradient, 8 for a vignette; photos 25–47).
Measured on generated scenes: flat colours, flat + noise, gradients, walls and vignettes score
0–8; photos 33–46, the same photos at a fifth of their contrast 25–46.

No I/O, no Pillow: ``imaging`` computes the grey grid, the SQL in ``services`` mirrors
``is_reuse`` (an integration test holds the two together).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PHASH_REUSE_THRESHOLD = 6  # ≤ this many differing bits of 64 = the same photo
MIN_DETAIL = 16  # below this the perceptual hash is not used for reuse
EDGE_MIN_LEVELS = 2  # grey levels (0–255) between neighbouring cells for an edge bit
GRID_WIDTH, GRID_HEIGHT = 9, 8

_PHASH_HEX = re.compile(r"[0-9a-f]{16}")
# Masks over the 64 hash bits, most significant bit = row 0, column 0 (as perceptual_hash builds it).
_HAS_RIGHT_NEIGHBOUR = int("fe" * 8, 16) >> 1  # after the shift: bit i compared with bit i+1 in its row
_HAS_LOWER_NEIGHBOUR = (1 << 56) - 1  # rows 0–6, after a shift by 8


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What reuse is decided on; ``detail`` is None for photos processed before it was measured."""

    sha256: str
    phash: str
    detail: int | None


def dhash_bits(grid: bytes) -> int:
    """The 64 dHash bits of a 9×8 grey grid: 1 where a cell is brighter than its right neighbour."""
    _check_grid(grid)
    bits = 0
    for row in range(GRID_HEIGHT):
        for col in range(GRID_WIDTH - 1):
            i = row * GRID_WIDTH + col
            bits = (bits << 1) | (grid[i] > grid[i + 1])
    return bits


def edge_bits(grid: bytes) -> int:
    """How many of the 64 comparisons are between cells at least EDGE_MIN_LEVELS apart."""
    _check_grid(grid)
    return sum(abs(grid[row * GRID_WIDTH + col] - grid[row * GRID_WIDTH + col + 1]) >= EDGE_MIN_LEVELS
               for row in range(GRID_HEIGHT) for col in range(GRID_WIDTH - 1))


def bit_changes(phash: str) -> int:
    """Neighbouring hash bits (within a row, or one row to the next) that differ, 0–112."""
    bits = _bits(phash)
    return (((bits ^ (bits >> 1)) & _HAS_RIGHT_NEIGHBOUR).bit_count()
            + ((bits ^ (bits >> 8)) & _HAS_LOWER_NEIGHBOUR).bit_count())


def detail(grid: bytes) -> int:
    """How much the perceptual hash of this grid says about the picture (see the module doc)."""
    return min(edge_bits(grid), bit_changes(f"{dhash_bits(grid):016x}"))


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two perceptual hashes."""
    return (_bits(a) ^ _bits(b)).bit_count()


def phash_usable(fingerprint: Fingerprint) -> bool:
    return fingerprint.detail is not None and fingerprint.detail >= MIN_DETAIL


def is_reuse(a: Fingerprint, b: Fingerprint) -> bool:
    """The same image bytes, or — when both photos have detail enough — nearly the same hash."""
    if a.sha256 and a.sha256 == b.sha256:
        return True
    return phash_usable(a) and phash_usable(b) and hamming(a.phash, b.phash) <= PHASH_REUSE_THRESHOLD


def _bits(phash: str) -> int:
    phash = phash.lower()
    if not _PHASH_HEX.fullmatch(phash):
        raise ValueError("perceptual hashes are 16 hex digits")
    return int(phash, 16)


def _check_grid(grid: bytes) -> None:
    if len(grid) != GRID_WIDTH * GRID_HEIGHT:
        raise ValueError("a dHash grid is 9×8 grey bytes")
