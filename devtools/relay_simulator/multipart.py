"""multipart/form-data parsing with the stdlib `email` parser (`cgi` is gone in 3.13)."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser


@dataclass
class UploadedFile:
    filename: str
    content_type: str | None
    data: bytes


class MultipartError(Exception):
    pass


def parse_form_data(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Returns (fields, files). A part with a filename is a file; anything else is a text field."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not msg.is_multipart():
        raise MultipartError("Malformed multipart body")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = UploadedFile(filename, part.get_content_type() if part["content-type"] else None, data)
        else:
            charset = part.get_content_charset() or "utf-8"
            fields[name] = data.decode(charset, errors="replace")
    return fields, files


# Magic numbers for the formats people actually send over iMessage.
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF8", 0, "image/gif"),
    (b"%PDF", 0, "application/pdf"),
    (b"caff", 0, "audio/x-caf"),
    (b"ID3", 0, "audio/mpeg"),
    (b"ftypheic", 4, "image/heic"),
    (b"ftypqt", 4, "video/quicktime"),
    (b"ftypM4A", 4, "audio/mp4"),
    (b"ftyp", 4, "video/mp4"),
)

_UTI = {
    "image/png": "public.png",
    "image/jpeg": "public.jpeg",
    "image/gif": "com.compuserve.gif",
    "image/heic": "public.heic",
    "application/pdf": "com.adobe.pdf",
    "audio/x-caf": "com.apple.coreaudio-format",
    "audio/mpeg": "public.mp3",
    "audio/mp4": "public.mpeg-4-audio",
    "video/mp4": "public.mpeg-4",
    "video/quicktime": "com.apple.quicktime-movie",
    "text/plain": "public.plain-text",
    "text/vcard": "public.vcard",
}


def guess_mime(name: str, data: bytes, declared: str | None = None) -> str:
    """The extension first (that is what macOS uses), then the bytes, then what the client said."""
    mimetypes.add_type("audio/x-caf", ".caf")
    mimetypes.add_type("image/heic", ".heic")
    guessed, _ = mimetypes.guess_type(name)
    if guessed:
        return guessed
    for magic, offset, mime in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return mime
    if declared and declared != "application/octet-stream":
        return declared
    return "application/octet-stream"


def uti_for(mime: str) -> str:
    return _UTI.get(mime, "public.data")
