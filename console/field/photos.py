"""Photos of phone records: declared (size, SHA-256), then sent in chunks at an offset, so an upload cut in the
middle resumes where the server's copy ends. Refused: over the size limit, not an image (by its magic bytes, not
its name or the phone's word), bytes that do not hash to the declared checksum."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

import filetype
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from console.security.guard import Viewer
from console.store.field_models import FieldPhoto, FieldPhotoChunk, FieldRecord

from . import grids
from .codes import PHOTO_CHUNK_MAX, PHOTO_MAX_BYTES
from .validation import FieldError

# What phone cameras write (GIF is left out: its magic check is three letters).
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"})
SNIFF_BYTES = 262  # what filetype reads to decide
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def image_type(head: bytes) -> str | None:
    """The image MIME type the bytes start with, or None (filetype reads the magic numbers)."""
    kind = filetype.guess(head)
    return kind.mime if kind is not None and kind.mime in IMAGE_TYPES else None


def status(photo: FieldPhoto) -> dict:
    return {"uuid": photo.uuid, "offset": photo.received, "size": photo.size, "status": photo.status}


def find(session: Session, viewer: Viewer, uuid: str) -> FieldPhoto:
    photo = session.scalar(select(FieldPhoto).where(FieldPhoto.uuid == uuid.lower()))
    if photo is None:
        raise FieldError("照片未登记，请先登记照片", 404, "photo_unknown")
    if not viewer.sees(photo.grid_code):
        raise grids.refuse_grid(viewer, photo.grid_code)
    return photo


def declaration(uuid: str, headers) -> dict:
    """A declaration sent as headers beside the first chunk."""
    size = headers.get("X-Photo-Size", "")
    return {"uuid": uuid, "record_uuid": headers.get("X-Record-UUID", ""), "sha256": headers.get("X-Photo-SHA256", ""),
            "size": int(size) if size.isdigit() else None}


def declare(session: Session, viewer: Viewer, body, now: datetime) -> dict:
    """Register a photo (or find it again): answers the offset to send from."""
    return status(declared(session, viewer, body, now))


def declared(session: Session, viewer: Viewer, body, now: datetime) -> FieldPhoto:
    """The registered photo (found again, or new)."""
    if not isinstance(body, dict):
        raise FieldError("请求格式错误：需要 uuid、record_uuid、sha256、size")
    uuid, record_uuid = str(body.get("uuid", "")).lower(), str(body.get("record_uuid", "")).lower()
    sha, size = str(body.get("sha256", "")).lower(), body.get("size")
    if not _UUID.match(uuid):
        raise FieldError("照片编号格式不正确")
    if not _UUID.match(record_uuid):
        raise FieldError("记录编号格式不正确")
    if not _SHA.match(sha):
        raise FieldError("校验和（SHA-256）格式不正确")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise FieldError("照片大小不正确")
    if size > PHOTO_MAX_BYTES:
        raise FieldError(f"照片 {_mb(size)}，超过 {_mb(PHOTO_MAX_BYTES)} 上限", 413, "photo_too_large")
    existing = session.scalar(select(FieldPhoto).where(FieldPhoto.uuid == uuid))
    if existing is not None:
        if not viewer.sees(existing.grid_code):
            raise grids.refuse_grid(viewer, existing.grid_code)
        if (existing.sha256, existing.size, existing.record_uuid) != (sha, size, record_uuid):
            raise FieldError("该照片编号已登记为另一张照片", 409, "photo_mismatch")
        return existing
    # the record's grid only (its encrypted payload is not needed here)
    record = session.execute(select(FieldRecord.grid_code).where(FieldRecord.uuid == record_uuid)).first()
    if record is None:
        raise FieldError("照片所属的记录尚未上传，请先上传记录", 409, "record_missing")
    if not viewer.sees(record.grid_code):
        raise grids.refuse_grid(viewer, record.grid_code or "")
    photo = FieldPhoto(uuid=uuid, record_uuid=record_uuid, grid_code=record.grid_code, sha256=sha, size=size,
                       received=0, status="partial", uploaded_by=viewer.username, created_at=now)
    session.add(photo)
    session.flush()
    return photo


def append(session: Session, viewer: Viewer, uuid: str, offset: int, data: bytes, now: datetime,
           photo: FieldPhoto | None = None) -> dict:
    """Store one chunk at `offset` (must be where the server's copy ends: else 409 with the right offset).
    `photo`: the row just declared in this session (else it is looked up and scope-checked)."""
    photo = photo or find(session, viewer, uuid)
    if photo.status == "complete":
        return status(photo)
    if offset != photo.received:
        raise FieldError(f"续传位置应为 {photo.received}", 409, "offset")
    if not data:
        raise FieldError("照片数据为空")
    if len(data) > PHOTO_CHUNK_MAX:
        raise FieldError(f"单次上传超过 {_mb(PHOTO_CHUNK_MAX)}", 413, "chunk_too_large")
    if photo.received + len(data) > photo.size:
        raise FieldError(f"照片数据超过登记的大小（{photo.size} 字节）", 413, "photo_too_large")
    if offset == 0 and image_type(data[:SNIFF_BYTES]) is None:
        raise FieldError("上传的文件不是图片（支持 JPEG、PNG、WebP、HEIC）", 415, "not_an_image")
    if offset == 0 and len(data) == photo.size:  # the whole photo in one request (most are): hash it here
        if hashlib.sha256(data).hexdigest() != photo.sha256:
            return {**status(photo), "error": CHECKSUM_MISMATCH, "code": "checksum"}  # nothing kept
        session.add(FieldPhotoChunk(photo_id=photo.id, position=0, data=data))
        photo.received, photo.mime, photo.status, photo.completed_at = len(data), image_type(data[:SNIFF_BYTES]), \
            "complete", now
        return status(photo)
    session.add(FieldPhotoChunk(photo_id=photo.id, position=offset, data=data))
    photo.received += len(data)
    if photo.received == photo.size:
        _finish(session, photo, now)
        if photo.status != "complete":  # committed as reset; the phone is told and starts over
            return {**status(photo), "error": CHECKSUM_MISMATCH, "code": "checksum"}
    return status(photo)


def content(session: Session, photo: FieldPhoto) -> bytes:
    chunks = session.scalars(select(FieldPhotoChunk.data).where(FieldPhotoChunk.photo_id == photo.id)
                             .order_by(FieldPhotoChunk.position))
    return b"".join(chunks)


def _finish(session: Session, photo: FieldPhoto, now: datetime) -> None:
    session.flush()
    blob = content(session, photo)
    if hashlib.sha256(blob).hexdigest() != photo.sha256:
        # Start over rather than keep bytes nobody can vouch for. The caller commits this reset and then
        # reports the mismatch (FieldError would roll it back).
        session.execute(delete(FieldPhotoChunk).where(FieldPhotoChunk.photo_id == photo.id))
        photo.received = 0
        photo.status = "partial"
        return
    photo.mime = image_type(blob[:SNIFF_BYTES])
    photo.status = "complete"
    photo.completed_at = now


CHECKSUM_MISMATCH = "照片校验和不一致，已清除，请重新上传"
