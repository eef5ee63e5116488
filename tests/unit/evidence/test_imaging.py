"""Hostile-upload handling: every fixture is generated here with Pillow, nothing binary is committed."""

from __future__ import annotations

import hashlib
import io
import random
import time
import warnings

import pytest
from PIL import Image, ImageCms, ImageDraw, ImageFile, PngImagePlugin, features

from backend.errors import InvalidInput, PayloadTooLarge
from backend.evidence import imaging
from backend.evidence.imaging import (
    ALLOWED_FORMATS,
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    PHASH_REUSE_THRESHOLD,
    THUMBNAIL_SIZE,
    ImageHeader,
    hamming,
    perceptual_hash,
    process,
    sniff,
)
from tests.unit.evidence.photos import photo

GPS_IFD = 0x8825
MAKE, MODEL, ORIENTATION = 0x010F, 0x0110, 0x0112
SECRET = "Secret-Village-No7"


# --- fixture builders ----------------------------------------------------------------------

def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def gps_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    exif[MODEL] = "Model-X-GPS"
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (30.0, 15.0, 12.5)
    gps[3] = "E"
    gps[4] = (120.0, 9.0, 45.25)
    return exif


def split_halves(size: tuple[int, int] = (400, 300)) -> Image.Image:
    """Left half red, right half blue: shows which way the photo was turned."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return image


def code_of(excinfo: pytest.ExceptionInfo) -> str:
    return excinfo.value.code


@pytest.fixture(scope="module")
def huge_png() -> bytes:
    """100 megapixels, ~12 kB on disk."""
    return encode(Image.new("1", (10_000, 10_000)), "PNG")


@pytest.fixture(scope="module")
def jpeg_bytes() -> bytes:
    return encode(photo(1), "JPEG", quality=90)


def assert_no_metadata(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif()
        assert not any(key in image.info for key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile",
                                                     "comment", "GPS", "GPSInfo"))
        assert not getattr(image, "text", {})
    for marker in (b"Exif\x00\x00", b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"ICC_PROFILE", b"iCCP",
                   b"http://ns.adobe.com/xap", b"PhoneMaker", b"Model-X-GPS", SECRET.encode()):
        assert marker not in data, marker


# --- sniff -------------------------------------------------------------------------------

def test_constants() -> None:
    assert MAX_UPLOAD_BYTES == 10 * 1024 * 1024
    assert MAX_PIXELS == 40_000_000
    assert ALLOWED_FORMATS[:3] == ("JPEG", "PNG", "WEBP")
    assert Image.MAX_IMAGE_PIXELS == MAX_PIXELS
    assert THUMBNAIL_SIZE == (320, 320)


def test_sniff_accepts_allowed_formats(jpeg_bytes: bytes) -> None:
    assert sniff(jpeg_bytes) == ImageHeader("JPEG", 640, 480)
    assert sniff(encode(photo(2, (300, 200)), "PNG")) == ImageHeader("PNG", 300, 200)
    if features.check("webp"):
        assert sniff(encode(photo(3, (120, 90)), "WEBP")) == ImageHeader("WEBP", 120, 90)


def test_sniff_refuses_100_megapixels_without_decoding(huge_png: bytes, monkeypatch) -> None:
    assert len(huge_png) < 100_000

    def no_decoding(self, *args, **kwargs):
        raise AssertionError("pixel data must not be decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    started = time.perf_counter()
    with pytest.raises(InvalidInput) as excinfo:
        sniff(huge_png)
    assert code_of(excinfo) == "EVIDENCE_TOO_MANY_PIXELS"
    assert time.perf_counter() - started < 2
    with pytest.raises(InvalidInput) as excinfo:
        process(huge_png)
    assert code_of(excinfo) == "EVIDENCE_TOO_MANY_PIXELS"


def test_sniff_refuses_just_over_the_limit() -> None:
    """48 MP: between MAX_PIXELS and Pillow's hard 2× limit, where Pillow only warns."""
    data = encode(Image.new("1", (8_000, 6_000)), "PNG")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a caller's filters must not weaken the check
        with pytest.raises(InvalidInput) as excinfo:
            sniff(data)
    assert code_of(excinfo) == "EVIDENCE_TOO_MANY_PIXELS"


def test_sniff_refuses_oversize_before_decoding(monkeypatch) -> None:
    data = b"\xff\xd8\xff" + b"\x00" * MAX_UPLOAD_BYTES

    def no_open(*args, **kwargs):
        raise AssertionError("must not be opened")

    monkeypatch.setattr(Image, "open", no_open)
    for function in (sniff, process):
        with pytest.raises(PayloadTooLarge) as excinfo:
            function(data)
        assert code_of(excinfo) == "EVIDENCE_TOO_LARGE"
        assert excinfo.value.status_code == 413
        assert excinfo.value.message_zh and excinfo.value.message_en


def test_exactly_max_upload_bytes_is_not_too_large() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        sniff(b"\x00" * MAX_UPLOAD_BYTES)
    assert code_of(excinfo) == "EVIDENCE_FORMAT"


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.mark.parametrize(
    "name, make",
    [
        ("svg", lambda: SVG),
        ("pdf-renamed.jpg", lambda: PDF),
        ("gif", lambda: encode(photo(4, (64, 48)).convert("P"), "GIF")),
        ("bmp", lambda: encode(photo(4, (64, 48)), "BMP")),
        ("tiff", lambda: encode(photo(4, (64, 48)), "TIFF")),
        ("ico", lambda: encode(photo(4, (64, 48)), "ICO")),
        ("text", lambda: "这是一张照片.jpg — not really\n".encode()),
        ("random", lambda: random.Random(7).randbytes(4096)),
        ("empty", lambda: b""),
        ("jpeg-magic-only", lambda: b"\xff\xd8\xff\xe0"),
    ],
)
def test_refuses_other_formats(name: str, make) -> None:
    data = make()
    for function in (sniff, process):
        with pytest.raises(InvalidInput) as excinfo:
            function(data)
        assert code_of(excinfo) == "EVIDENCE_FORMAT", name
        assert excinfo.value.message_zh and excinfo.value.message_en


def test_multi_picture_jpeg_counts_as_jpeg() -> None:
    """Many phones write MPO (a JPEG with extra frames); Pillow reports it as "MPO"."""
    data = encode(photo(5, (200, 100)), "MPO", save_all=True, append_images=[photo(6, (200, 100))])
    assert sniff(data) == ImageHeader("JPEG", 200, 100)
    result = process(data)
    assert result.image_format == "JPEG"
    assert (result.width, result.height) == (200, 100)


# --- process: corrupt data ----------------------------------------------------------------

def test_truncated_jpeg_is_refused_before_decoding(jpeg_bytes: bytes) -> None:
    truncated = jpeg_bytes[: len(jpeg_bytes) // 2]  # the header is intact, the end marker is gone
    for check in (sniff, process):
        with pytest.raises(InvalidInput) as excinfo:
            check(truncated)
        assert code_of(excinfo) == "EVIDENCE_CORRUPT"


def test_jpeg_with_trailer_after_its_end_marker_is_complete(jpeg_bytes: bytes) -> None:
    assert sniff(jpeg_bytes + b"SAMSUNG-TRAILER" * 4).format == "JPEG"


def test_corrupt_scan_data_passes_the_header_check_and_fails_the_decode(jpeg_bytes: bytes) -> None:
    damaged = bytearray(jpeg_bytes)
    middle = len(damaged) // 2
    damaged[middle : middle + 200] = bytes(0xFF if i % 2 else 0x00 for i in range(200))
    assert sniff(bytes(damaged)).format == "JPEG"
    with pytest.raises(InvalidInput) as excinfo:
        process(bytes(damaged))
    assert code_of(excinfo) == "EVIDENCE_CORRUPT"


def test_truncated_png_is_corrupt() -> None:
    data = encode(photo(7, (300, 300)), "PNG")
    with pytest.raises(InvalidInput) as excinfo:
        process(data[: len(data) // 2])
    assert code_of(excinfo) == "EVIDENCE_CORRUPT"


def test_garbage_after_jpeg_header_is_refused(jpeg_bytes: bytes) -> None:
    data = jpeg_bytes[:200] + random.Random(3).randbytes(5000)
    with pytest.raises(InvalidInput) as excinfo:
        process(data)
    assert code_of(excinfo) in {"EVIDENCE_CORRUPT", "EVIDENCE_FORMAT"}


# --- process: metadata, orientation, modes ------------------------------------------------

def test_jpeg_gps_exif_is_stripped_and_orientation_applied() -> None:
    original = split_halves((400, 300))
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(original, "JPEG", quality=95, exif=gps_exif(orientation=6), comment=SECRET.encode(),
                  icc_profile=icc, xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/" a="http://ns.adobe.com/xap/1.0/"/>')
    with Image.open(io.BytesIO(data)) as source:  # the fixture really carries it all
        assert source.getexif().get_ifd(GPS_IFD)[2] == (30.0, 15.0, 12.5)
        assert source.getexif()[ORIENTATION] == 6 and "icc_profile" in source.info
    assert b"Exif\x00\x00" in data and SECRET.encode() in data

    result = process(data)
    assert result.image_format == "JPEG" and result.extension == "jpg"
    assert (result.width, result.height) == (300, 400)  # swapped: rotated 90° clockwise
    assert_no_metadata(result.image_bytes)
    assert_no_metadata(result.thumbnail_bytes)
    with Image.open(io.BytesIO(result.image_bytes)) as stored:
        assert stored.format == "JPEG" and stored.size == (300, 400)
        stored = stored.convert("RGB")
        top, bottom = stored.getpixel((150, 50)), stored.getpixel((150, 350))
        assert top[0] > 200 and top[2] < 60  # the left (red) half is now on top
        assert bottom[2] > 200 and bottom[0] < 60


def test_png_text_chunks_and_exif_are_stripped() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET)
    info.add_text("Location", SECRET, zip=True)
    info.add_itxt("Description", SECRET + " 村委会")
    data = encode(photo(8, (200, 150)), "PNG", pnginfo=info, exif=gps_exif(orientation=1))
    with Image.open(io.BytesIO(data)) as source:
        assert source.text["Comment"] == SECRET and source.getexif()
    result = process(data)
    assert result.image_format == "PNG" and result.extension == "png"
    assert (result.width, result.height) == (200, 150)
    assert_no_metadata(result.image_bytes)
    assert_no_metadata(result.thumbnail_bytes)


@pytest.mark.skipif(not imaging.HEIF_SUPPORTED, reason="pillow-heif not installed")
def test_heic_is_accepted_and_stripped() -> None:
    data = encode(split_halves((256, 128)), "HEIF", quality=90, exif=gps_exif(orientation=1).tobytes())
    assert sniff(data) == ImageHeader("HEIF", 256, 128)
    result = process(data)
    assert result.image_format == "JPEG"
    assert (result.width, result.height) == (256, 128)
    assert_no_metadata(result.image_bytes)


@pytest.mark.skipif(not features.check("webp"), reason="Pillow without WebP")
def test_webp_with_alpha_becomes_jpeg_on_white() -> None:
    image = Image.new("RGBA", (100, 80), (0, 0, 0, 0))
    image.paste((0, 128, 0, 255), (0, 0, 50, 80))
    result = process(encode(image, "WEBP", lossless=True))
    assert result.image_format == "JPEG"
    with Image.open(io.BytesIO(result.image_bytes)) as stored:
        assert stored.mode == "RGB"
        assert min(stored.getpixel((90, 40))) > 240  # transparent → white, not black
        assert stored.getpixel((10, 40))[1] > 100


@pytest.mark.parametrize(
    "mode_image, expected_mode",
    [
        (lambda: Image.new("P", (60, 40), 3), "RGB"),
        (lambda: Image.new("LA", (60, 40), (100, 128)), "RGBA"),
        (lambda: Image.new("L", (60, 40), 77), "L"),
        (lambda: Image.new("1", (60, 40), 1), "L"),
        (lambda: Image.new("RGBA", (60, 40), (1, 2, 3, 4)), "RGBA"),
        (lambda: Image.new("I;16", (60, 40), 65535), "L"),
    ],
)
def test_png_modes_are_normalised(mode_image, expected_mode: str) -> None:
    result = process(encode(mode_image(), "PNG"))
    with Image.open(io.BytesIO(result.image_bytes)) as stored:
        assert stored.format == "PNG" and stored.mode == expected_mode
        if expected_mode == "L":
            assert stored.getpixel((0, 0)) in (77, 255)  # 16-bit white scales to 255, not clipped to garbage


def test_palette_png_with_transparency_keeps_alpha() -> None:
    image = Image.new("P", (60, 40), 0)
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    image.paste(1, (0, 0, 30, 40))
    result = process(encode(image, "PNG", transparency=1))
    with Image.open(io.BytesIO(result.image_bytes)) as stored:
        assert stored.mode == "RGBA"
        assert stored.getpixel((10, 10))[3] == 0 and stored.getpixel((50, 10)) == (255, 0, 0, 255)


def test_cmyk_jpeg_becomes_rgb() -> None:
    result = process(encode(photo(9, (120, 90)).convert("CMYK"), "JPEG"))
    assert result.image_format == "JPEG"
    with Image.open(io.BytesIO(result.image_bytes)) as stored:
        assert stored.mode == "RGB"


def test_thumbnail_hash_and_determinism(jpeg_bytes: bytes) -> None:
    result = process(jpeg_bytes)
    assert result.sha256 == hashlib.sha256(result.image_bytes).hexdigest()
    assert len(result.phash) == 16 and int(result.phash, 16) >= 0
    with Image.open(io.BytesIO(result.thumbnail_bytes)) as thumb:
        assert thumb.format == "JPEG"
        assert thumb.size == (320, 240)
    again = process(jpeg_bytes)
    assert (again.sha256, again.phash, again.thumbnail_bytes) == (result.sha256, result.phash,
                                                                 result.thumbnail_bytes)


def test_tall_image_thumbnail_fits() -> None:
    result = process(encode(photo(10, (200, 1000)), "PNG"))
    with Image.open(io.BytesIO(result.thumbnail_bytes)) as thumb:
        assert thumb.size == (64, 320)


def test_small_image_is_not_enlarged() -> None:
    result = process(encode(photo(11, (40, 30)), "JPEG"))
    with Image.open(io.BytesIO(result.thumbnail_bytes)) as thumb:
        assert thumb.size == (40, 30)


# --- perceptual hash ----------------------------------------------------------------------

def test_phash_survives_reencoding_and_resizing() -> None:
    for seed in range(5):
        original = photo(seed)
        reference = perceptual_hash(original)
        variants = [
            Image.open(io.BytesIO(encode(original, "JPEG", quality=35))),
            Image.open(io.BytesIO(encode(original, "JPEG", quality=95))),
            original.resize((320, 240), Image.Resampling.BILINEAR),
            original.resize((1280, 960), Image.Resampling.BICUBIC),
        ]
        for variant in variants:
            assert hamming(reference, perceptual_hash(variant)) <= PHASH_REUSE_THRESHOLD, seed


def test_phash_through_process_recognises_reupload() -> None:
    original = photo(12, (1200, 900))
    first = process(encode(original, "JPEG", quality=92))
    second = process(encode(original.resize((600, 450)), "JPEG", quality=60))
    assert first.sha256 != second.sha256
    assert hamming(first.phash, second.phash) <= PHASH_REUSE_THRESHOLD


def test_phash_tells_different_photos_apart() -> None:
    hashes = [perceptual_hash(photo(seed)) for seed in range(20, 30)]
    for i, a in enumerate(hashes):
        for b in hashes[i + 1:]:
            assert hamming(a, b) > PHASH_REUSE_THRESHOLD


def test_hamming() -> None:
    assert hamming("0000000000000000", "0000000000000000") == 0
    assert hamming("ffffffffffffffff", "0000000000000000") == 64
    assert hamming("8000000000000001", "0000000000000000") == 2
    assert hamming("ABCDEF0123456789", "abcdef0123456789") == 0
    for bad in ("", "123", "0x00000000000000", "zzzzzzzzzzzzzzzz", "00000000000000000"):
        with pytest.raises(ValueError):
            hamming(bad, "0000000000000000")
