"""Small but structurally valid files of every type the tests need (magic numbers and real headers)."""

from __future__ import annotations

import struct
import zlib


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png() -> bytes:
    """A real 1×1 RGBA PNG."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00\xff")
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def gif() -> bytes:
    """A real 1×1 GIF89a."""
    return (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
            b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def jpeg() -> bytes:
    """SOI + JFIF APP0 + EOI (enough for any sniffer)."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\xff\xd9"


def webp() -> bytes:
    """RIFF/WEBP with a lossless 1×1 VP8L chunk."""
    vp8l = b"\x2f\x00\x00\x00\x00\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
    chunk = b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    return _box(b"ftyp", major + b"\x00\x00\x02\x00" + b"".join(compatible))


def mp4() -> bytes:
    return _ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41") + _box(b"free", b"") + _box(b"mdat", b"\x00" * 32)


def m4v() -> bytes:
    return _ftyp(b"M4V ", b"M4V ", b"M4A ", b"mp42", b"isom") + _box(b"mdat", b"\x00" * 16)


def mov() -> bytes:
    return _ftyp(b"qt  ", b"qt  ") + _box(b"wide", b"") + _box(b"mdat", b"\x00" * 32)


def mov_legacy() -> bytes:
    """QuickTime from before `ftyp`: starts straight with a `moov` atom."""
    return _box(b"moov", _box(b"mvhd", b"\x00" * 100))


def heic() -> bytes:
    return _ftyp(b"heic", b"mif1", b"heic") + _box(b"meta", b"\x00" * 24)


def heif() -> bytes:
    return _ftyp(b"mif1", b"mif1") + _box(b"meta", b"\x00" * 24)


def avif() -> bytes:
    return _ftyp(b"avif", b"avif", b"mif1", b"miaf") + _box(b"meta", b"\x00" * 24)


def m4a() -> bytes:
    return _ftyp(b"M4A ", b"M4A ", b"mp42", b"isom") + _box(b"mdat", b"\x00" * 16)


def caf() -> bytes:
    """CAF header + an AAC `desc` chunk + a tiny `data` chunk."""
    desc = struct.pack(">dIIIIII", 44100.0, 0x61616320, 0, 0, 1024, 1, 0)  # 'aac '
    return (b"caff\x00\x01\x00\x00" + b"desc" + struct.pack(">q", len(desc)) + desc
            + b"data" + struct.pack(">q", 12) + b"\x00\x00\x00\x00" + b"\x00" * 8)


def mp3() -> bytes:
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 64


def wav() -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)
    data = b"\x80" * 16
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def zip_file() -> bytes:
    return b"PK\x03\x04\x14\x00\x00\x00\x00\x00" + b"\x00" * 40


def html() -> bytes:
    return b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def svg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


ACCEPTED = {
    "png": (png, "image/png", "png"),
    "jpg": (jpeg, "image/jpeg", "jpg"),
    "gif": (gif, "image/gif", "gif"),
    "webp": (webp, "image/webp", "webp"),
    "heic": (heic, "image/heic", "heic"),
    "heif": (heif, "image/heif", "heif"),
    "mp4": (mp4, "video/mp4", "mp4"),
    "m4v": (m4v, "video/mp4", "mp4"),
    "mov": (mov, "video/quicktime", "mov"),
    "mov_legacy": (mov_legacy, "video/quicktime", "mov"),
    "caf": (caf, "audio/x-caf", "caf"),
    "pdf": (pdf, "application/pdf", "pdf"),
}
GENERIC_AUDIO = {"mp3": (mp3, "audio/mpeg", "mp3"), "wav": (wav, "audio/wav", "wav"),
                 "m4a": (m4a, "audio/mp4", "m4a")}
REFUSED = {"zip": zip_file, "html": html, "svg": svg, "avif": avif, "text": lambda: b"hello world, plain text"}
