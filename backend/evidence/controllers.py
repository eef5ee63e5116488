"""Photo upload and scoped retrieval."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.status_codes import HTTP_202_ACCEPTED

from backend.auth.guards import require_roles
from backend.auth.roles import Role
from backend.errors import InvalidInput, NotFound, PayloadTooLarge, PermissionDenied
from backend.evidence import imaging, services
from backend.evidence.schemas import EvidenceOut
from backend.openapi import errors, images
from backend.params import AuthRequest, BigId

# Documented answers (the header checks in imaging, the service's readiness check).
TOO_LARGE = PayloadTooLarge("照片不能超过 10 MB", "Photo larger than 10 MB", code="EVIDENCE_TOO_LARGE")
FIELD_MISSING = InvalidInput("请以 multipart 字段 data 上传照片文件", "Send the photo as the multipart file field `data`",
                             code="EVIDENCE_FIELD_MISSING")
BAD_FORMAT = InvalidInput("仅支持 JPEG、PNG、WebP、HEIC 照片", "Only JPEG, PNG, WebP and HEIC photos", code="EVIDENCE_FORMAT")
TOO_MANY_PIXELS = InvalidInput("照片像素过多", "Photo has too many pixels", code="EVIDENCE_TOO_MANY_PIXELS")
CORRUPT = InvalidInput("照片文件已损坏", "Photo file is corrupt", code="EVIDENCE_CORRUPT")
NOT_READY = NotFound("照片尚未处理完成或未通过检查", "Photo not processed yet or rejected", code="EVIDENCE_NOT_READY")


@dataclass
class PhotoUpload:
    data: UploadFile


class EvidenceController(Controller):
    path = "/api/v1/evidence"
    tags = ["evidence 证据"]

    @post("", operation_id="uploadEvidence", summary="上传证据照片 · Upload a photo", status_code=HTTP_202_ACCEPTED,
          responses=errors(PermissionDenied, TOO_LARGE, FIELD_MISSING, BAD_FORMAT, TOO_MANY_PIXELS, CORRUPT),
          guards=[require_roles(Role.GRID_WORKER, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN)],
          request_max_body_size=imaging.MAX_UPLOAD_BYTES + 64 * 1024)
    async def upload(
        self, request: AuthRequest, data: Annotated[PhotoUpload, Body(media_type=RequestEncodingType.MULTI_PART)]
    ) -> EvidenceOut:
        """Upload one photo (JPEG/PNG/WebP/HEIC, ≤ 10 MB) as multipart field `data`; processed in the background."""
        if not isinstance(data.data, UploadFile):
            raise InvalidInput("请以 multipart 字段 data 上传照片文件", "Send the photo as the multipart file field `data`",
                               code="EVIDENCE_FIELD_MISSING")
        content = await data.data.read(imaging.MAX_UPLOAD_BYTES + 1)
        if len(content) > imaging.MAX_UPLOAD_BYTES:
            raise PayloadTooLarge("照片不能超过 10 MB", "Photo larger than 10 MB", code="EVIDENCE_TOO_LARGE")
        return await services.upload(request.user, content)

    @get("/{evidence_id:int}", operation_id="getEvidence", summary="照片处理状态 · Photo processing status",
         responses=errors(NotFound))
    async def status(self, request: AuthRequest, evidence_id: BigId) -> EvidenceOut:
        """Processing status of a photo (pending / ready / rejected with a reason)."""
        return await services.get_evidence(request.user, evidence_id)

    @get("/{evidence_id:int}/image", operation_id="getEvidenceImage", summary="证据照片（已去除元数据）· The processed photo",
         responses=errors(NotFound, NOT_READY), opt=images("image/jpeg", "image/png"))
    async def image(self, request: AuthRequest, evidence_id: BigId) -> Response[bytes]:
        """The processed photo (all metadata removed)."""
        data, media = await services.evidence_bytes(request.user, evidence_id, thumbnail=False)
        return Response(data, media_type=media, headers={"Cache-Control": "private, max-age=300"})

    @get("/{evidence_id:int}/thumbnail", operation_id="getEvidenceThumbnail", summary="证据照片缩略图 · Photo thumbnail",
         responses=errors(NotFound, NOT_READY), opt=images("image/jpeg"))
    async def thumbnail(self, request: AuthRequest, evidence_id: BigId) -> Response[bytes]:
        """A small JPEG thumbnail of the photo."""
        data, media = await services.evidence_bytes(request.user, evidence_id, thumbnail=True)
        return Response(data, media_type=media, headers={"Cache-Control": "private, max-age=300"})
