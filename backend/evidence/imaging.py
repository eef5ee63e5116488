"""Untrusted phone photos → safe, metadata-free images, thumbnails and perceptual hashes.

Two stages, both treating the bytes as hostile: ``sniff`` (header only, cheap) runs in the
API before an upload is queued; ``process`` (full decode) runs in the worker. The format is
whatever Pillow identifies against ``ALLOWED_FORMATS`` — never the file name or the
client's Content-Type — and the pixel count is checked before any pixel is decoded.

Metadata: the stored image is rebuilt from pixel data alone, so EXIF (GPS, camera serial),
XMP, comments, PNG text chunks and the ICC profile are all gone. Before the profile is
dropped the pixels are converted from it to sRGB (LittleCMS, ~0.3 s per 12 MP), so iPhone
Display-P3 and CMYK images keep their colours; an unusable profile is just dropped.

Stored formats: PNG stays PNG (screenshots, documents: lossless); JPEG, WebP and HEIC
become JPEG at quality 85, any alpha flattened onto white. Full resolution is kept.
"""

from __future__ import annotations

import hashlib
import struct
import warnings
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from backend.errors import InvalidInput, PayloadTooLarge
from backend.evidence import reuse
from backend.evidence.reuse import PHASH_REUSE_THRESHOLD, hamming  # noqa: F401  (re-exported)

try:
    from PIL import ImageCms
except ImportError:  # Pillow built without LittleCMS: ICC profiles are dropped unconverted
    ImageCms = None  # type: ignore[assignment]

try:
    import pillow_heif
except ImportError:  # HEIC stays refused as EVIDENCE_FORMAT
    pillow_heif = None
else:
    pillow_heif.register_heif_opener()

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
HEIF_SUPPORTED: bool = pillow_heif is not None and "HEIF" in Image.OPEN
ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP") + (("HEIF",) if HEIF_SUPPORTED else ())
THUMBNAIL_SIZE = (320, 320)
JPEG_QUALITY = 85
THUMBNAIL_QUALITY = 80

# Pillow warns above this and refuses above twice this, on every Image.open in the process.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)
_BOMB_ERRORS = (Image.DecompressionBombError, Image.DecompressionBombWarning)
# Malformed EXIF only costs us the orientation, never the photo.
_EXIF_ERRORS = (*_DECODE_ERRORS, KeyError, IndexError, TypeError)
_WHITE = (255, 255, 255)
_SRGB = ImageCms.createProfile("sRGB") if ImageCms is not None else None


@dataclass(frozen=True, slots=True)
class ImageHeader:
    format: str  # one of ALLOWED_FORMATS (an MPO, i.e. a multi-picture phone JPEG, is "JPEG")
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    image_bytes: bytes
    image_format: str  # "JPEG" or "PNG" ("WEBP" is reserved, not produced)
    thumbnail_bytes: bytes  # always JPEG, within THUMBNAIL_SIZE
    width: int  # after orientation was applied
    height: int
    sha256: str  # of image_bytes, hex
    phash: str  # 64-bit dHash, 16 hex chars
    detail: int  # how much the phash says about the picture (reuse.detail); low = flat photo

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self.image_format]


# --- errors ------------------------------------------------------------------------------

_ACCEPTED_ZH = "JPEG、PNG、WebP 或 HEIC" if HEIF_SUPPORTED else "JPEG、PNG 或 WebP"
_ACCEPTED_EN = "JPEG, PNG, WebP or HEIC" if HEIF_SUPPORTED else "JPEG, PNG or WebP"


def _format_error(zh: str = f"仅支持 {_ACCEPTED_ZH} 格式的照片",
                  en: str = f"Only {_ACCEPTED_EN} photos are accepted") -> InvalidInput:
    return InvalidInput(zh, en, code="EVIDENCE_FORMAT", details={"allowed": list(ALLOWED_FORMATS)})


def _too_many_pixels(size: tuple[int, int] | None = None) -> InvalidInput:
    details: dict[str, Any] = {"max_pixels": MAX_PIXELS}
    if size is not None:
        details.update(width=size[0], height=size[1])
    return InvalidInput("照片分辨率过高（超过 4000 万像素），请调低分辨率后重新上传",
                        "Photo resolution too high (over 40 megapixels); please reduce it and upload again",
                        code="EVIDENCE_TOO_MANY_PIXELS", details=details)


def _corrupt() -> InvalidInput:
    return InvalidInput("照片文件已损坏或不完整，请重新上传",
                        "The photo file is corrupt or incomplete; please upload it again",
                        code="EVIDENCE_CORRUPT")


# --- public API --------------------------------------------------------------------------

def sniff(data: bytes) -> ImageHeader:
    """Refuse what can be refused without decoding pixels, so the API never queues junk."""
    image, header = _open(data)
    image.close()
    if not _looks_complete(header.format, data):
        raise _corrupt()
    return header


def _looks_complete(image_format: str, data: bytes) -> bool:
    """Cheap truncation check from the container's own end markers (a cut-off upload from a
    phone on a weak signal is the common case): JPEG needs an EOI after its last scan (bytes may
    follow it: some phones append trailers), PNG an IEND chunk, WebP its declared RIFF length.
    The full decode in the worker still catches everything else."""
    if image_format == "JPEG":
        last_scan = data.rfind(b"\xff\xda")
        return last_scan != -1 and data.find(b"\xff\xd9", last_scan) != -1
    if image_format == "PNG":
        return b"IEND" in data[-64:]
    if image_format == "WEBP":
        return len(data) >= 8 and int.from_bytes(data[4:8], "little") + 8 <= len(data)
    return True


def process(data: bytes) -> ProcessedImage:
    """Decode fully and re-encode without metadata; the worker's half of an upload."""
    image, header = _open(data)
    try:
        with warnings.catch_warnings(), image:
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            clean = _clean(image)
    except _BOMB_ERRORS as exc:
        raise _too_many_pixels((header.width, header.height)) from exc
    except _DECODE_ERRORS as exc:
        raise _corrupt() from exc

    image_format = "PNG" if header.format == "PNG" else "JPEG"
    if image_format == "JPEG" and clean.mode == "RGBA":
        clean = _flatten(clean)
    image_bytes = _encode(clean, image_format, JPEG_QUALITY)
    thumb = _thumbnail(clean)
    grid = _dhash_grid(thumb)  # the thumbnail: cheap, and the same for any re-upload
    return ProcessedImage(
        image_bytes=image_bytes,
        image_format=image_format,
        thumbnail_bytes=_encode(thumb, "JPEG", THUMBNAIL_QUALITY),
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(image_bytes).hexdigest(),
        phash=f"{reuse.dhash_bits(grid):016x}",
        detail=reuse.detail(grid),
    )


def perceptual_hash(image: Image.Image) -> str:
    """dHash: survives re-encoding and resizing, so a re-uploaded old photo is recognised."""
    return f"{reuse.dhash_bits(_dhash_grid(image)):016x}"


def detail(image: Image.Image) -> int:
    """How much ``perceptual_hash(image)`` says about the picture (see ``reuse``)."""
    return reuse.detail(_dhash_grid(image))


# --- internals ---------------------------------------------------------------------------

def _dhash_grid(image: Image.Image) -> bytes:
    """The 9×8 grey cells the dHash compares."""
    image = _normalize_mode(image)
    if image.mode == "RGBA":
        image = _flatten(image)
    small = image.resize((reuse.GRID_WIDTH, reuse.GRID_HEIGHT), Image.Resampling.LANCZOS)  # no reducing_gap: stabler
    return small.convert("L").tobytes()


def _open(data: bytes) -> tuple[Image.Image, ImageHeader]:
    """Identify and size-check; Pillow's open reads headers only, pixels stay undecoded."""
    if not data:
        raise _format_error("文件为空", "The file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge("照片超过 10 MB，请压缩后重新上传",
                              "Photo exceeds 10 MB; please compress it and upload again",
                              code="EVIDENCE_TOO_LARGE",
                              details={"max_bytes": MAX_UPLOAD_BYTES, "size": len(data)})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(data), formats=ALLOWED_FORMATS)
    except _BOMB_ERRORS as exc:
        raise _too_many_pixels() from exc
    except UnidentifiedImageError as exc:
        raise _format_error() from exc
    except _DECODE_ERRORS as exc:
        raise _corrupt() from exc

    fmt = "JPEG" if image.format == "MPO" else (image.format or "")
    width, height = image.size
    try:
        if fmt not in ALLOWED_FORMATS:
            raise _format_error()
        if width < 1 or height < 1:
            raise _corrupt()
        # Explicit, not only Pillow's warning: catch_warnings is process-global, not thread-safe.
        if width * height > MAX_PIXELS:
            raise _too_many_pixels((width, height))
    except InvalidInput:
        image.close()
        raise
    return image, ImageHeader(fmt, width, height)


def _clean(image: Image.Image) -> Image.Image:
    """Oriented, sRGB, L/RGB/RGBA pixels in a brand-new image that carries no ``info``."""
    try:
        oriented = ImageOps.exif_transpose(image)
    except _EXIF_ERRORS:
        oriented = image
    pixels = _normalize_mode(_to_srgb(oriented))
    fresh = Image.new(pixels.mode, pixels.size)
    fresh.paste(pixels)
    return fresh


def _to_srgb(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    if not icc or ImageCms is None or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(BytesIO(icc))
        return ImageCms.profileToProfile(
            image, source, _SRGB, outputMode="RGBA" if image.mode == "RGBA" else "RGB"
        ) or image
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image


def _normalize_mode(image: Image.Image) -> Image.Image:
    """Everything becomes L, RGB or RGBA (P/LA/tRNS → RGBA, CMYK/YCbCr → RGB, 16-bit → L)."""
    if image.has_transparency_data:
        return image if image.mode == "RGBA" else image.convert("RGBA")
    if image.mode in ("L", "RGB"):
        return image
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I"):  # 16-bit greyscale PNG: scale, don't clip
        return image.convert("I").point(lambda v: v / 256).convert("L")
    return image.convert("RGB")


def _flatten(image: Image.Image) -> Image.Image:
    """JPEG has no alpha: composite onto white rather than let transparent pixels go black."""
    background = Image.new("RGB", image.size, _WHITE)
    background.paste(image, mask=image.getchannel("A"))
    return background


def _thumbnail(image: Image.Image) -> Image.Image:
    width, height = image.size
    scale = min(1.0, THUMBNAIL_SIZE[0] / width, THUMBNAIL_SIZE[1] / height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    thumb = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return _flatten(thumb) if thumb.mode == "RGBA" else thumb


def _encode(image: Image.Image, image_format: str, quality: int) -> bytes:
    """Save with no ``exif=``/``pnginfo=``/``icc_profile=``: ``image`` has empty ``info``."""
    buffer = BytesIO()
    if image_format == "JPEG":
        image.save(buffer, "JPEG", quality=quality, optimize=True)
    else:
        image.save(buffer, "PNG")
    return buffer.getvalue()
