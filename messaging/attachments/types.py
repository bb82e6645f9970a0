"""What a file really is, from its bytes (never from its name or the server's Content-Type).

Accepted (spec attachments.txt): PNG, JPEG, GIF, WebP, HEIC/HEIF, MP4, MOV, CAF, PDF.
The spec also says MP3, WAV, M4A "and other audio formats are sent as generic file
attachments": those are accepted as plain files (`generic=True`, never a voice note;
BlueBubbles sends any named file part, reference §4). Everything else (archives,
HTML, SVG, executables, AVIF, unknown bytes) is refused with ATTACHMENT_UNSUPPORTED_TYPE.

`filetype` covers the simple magic numbers; the ISO-BMFF family (MP4, MOV, HEIC,
M4A) and CAF are parsed here because `filetype` misses common brands (M4V, heix,
legacy MOV without an `ftyp` box) and has no CAF matcher.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import filetype


@dataclass(frozen=True)
class FileType:
    mime: str
    extension: str  # canonical, without the dot
    label: str
    aliases: tuple[str, ...] = ()
    is_audio_message: bool = False  # CAF: the native voice-note bubble
    generic: bool = False  # sent as a plain file attachment

    @property
    def extensions(self) -> tuple[str, ...]:
        return (self.extension, *self.aliases)


PNG = FileType("image/png", "png", "PNG")
JPEG = FileType("image/jpeg", "jpg", "JPEG", aliases=("jpeg", "jpe", "jfif"))
GIF = FileType("image/gif", "gif", "GIF")
WEBP = FileType("image/webp", "webp", "WebP")
HEIC = FileType("image/heic", "heic", "HEIC")
HEIF = FileType("image/heif", "heif", "HEIF", aliases=("heic",))
MP4 = FileType("video/mp4", "mp4", "MP4", aliases=("m4v",))
MOV = FileType("video/quicktime", "mov", "MOV", aliases=("qt",))
CAF = FileType("audio/x-caf", "caf", "CAF", is_audio_message=True)
PDF = FileType("application/pdf", "pdf", "PDF")
# Audio other than CAF: a generic file, not a voice note (spec attachments.txt).
MP3 = FileType("audio/mpeg", "mp3", "MP3", generic=True)
WAV = FileType("audio/wav", "wav", "WAV", generic=True)
M4A = FileType("audio/mp4", "m4a", "M4A", generic=True)
AAC = FileType("audio/aac", "aac", "AAC", generic=True)
AIFF = FileType("audio/aiff", "aiff", "AIFF", aliases=("aif", "aifc"), generic=True)
FLAC = FileType("audio/flac", "flac", "FLAC", generic=True)
OGG = FileType("audio/ogg", "ogg", "Ogg", aliases=("oga", "opus"), generic=True)
AMR = FileType("audio/amr", "amr", "AMR", generic=True)

ACCEPTED = (PNG, JPEG, GIF, WEBP, HEIC, HEIF, MP4, MOV, CAF, PDF)
GENERIC_AUDIO = (MP3, WAV, M4A, AAC, AIFF, FLAC, OGG, AMR)
SUPPORTED_TEXT = "PNG, JPG, GIF, WebP, HEIC, MP4, MOV, CAF (voice notes), PDF; other audio is sent as a file"

# filetype's audio matchers → our generic audio types (MIDI is deliberately absent).
_FILETYPE_AUDIO = {"audio/mpeg": MP3, "audio/x-wav": WAV, "audio/aac": AAC, "audio/x-aiff": AIFF,
                   "audio/x-flac": FLAC, "audio/ogg": OGG, "audio/amr": AMR, "audio/mp4": M4A}

_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_BRANDS = {b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41",
               b"mp42", b"mp71", b"avc1", b"dash", b"mmp4", b"MSNV", b"NDAS", b"XAVC", b"f4v ",
               b"M4V ", b"M4VH", b"M4VP"}
_M4A_BRANDS = {b"M4A ", b"M4B "}
# QuickTime files from before `ftyp` existed start straight with one of these atoms.
_LEGACY_MOV_ATOMS = {b"moov", b"mdat", b"wide", b"pnot"}

# Spec: "max 25 MB each" (MiB: the larger reading, so a file a phone calls 25 MB passes).
MAX_BYTES = 25 * 1024 * 1024
HEAD_BYTES = 8192  # detection never needs more than this


def _bmff(head: bytes) -> FileType | None:
    """ISO base media (MP4/MOV/HEIC/M4A): the `ftyp` box's major and compatible brands."""
    if head[4:8] != b"ftyp" or len(head) < 16:
        if head[4:8] in _LEGACY_MOV_ATOMS and struct.unpack(">I", head[:4])[0] >= 8:
            return MOV
        return None
    box_size = struct.unpack(">I", head[:4])[0]
    end = min(max(box_size, 16), len(head), 1024)
    major = head[8:12]
    compatible = {head[i:i + 4] for i in range(16, end - 3, 4)}
    if major == b"qt  ":
        return MOV
    if major in _AVIF_BRANDS or (major in _HEIF_BRANDS and compatible & _AVIF_BRANDS):
        return None
    if major in _HEIC_BRANDS or (major in _HEIF_BRANDS and compatible & _HEIC_BRANDS):
        return HEIC
    if major in _HEIF_BRANDS:
        return HEIF
    if major in _M4A_BRANDS or (major in _MP4_BRANDS and compatible & _M4A_BRANDS
                                and not compatible & {b"M4V ", b"avc1"}):
        return M4A
    if major in _MP4_BRANDS or compatible & _MP4_BRANDS:
        return MP4
    return None


def detect(content: bytes) -> FileType | None:
    """The accepted type of `content`, or None when it is not one Tuco sends."""
    head = bytes(content[:HEAD_BYTES])
    if len(head) < 4:
        return None
    if head.startswith(b"caff") and head[4:6] == b"\x00\x01":
        return CAF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if b"%PDF-" in head[:1024]:  # PDF readers accept a header anywhere in the first 1 KB
        return PDF
    if len(head) >= 12:
        found = _bmff(head)
        if found is not None or head[4:8] == b"ftyp":
            return found
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return WAV
    kind = filetype.audio_match(head)
    if kind is not None:
        return _FILETYPE_AUDIO.get(kind.mime)
    return None


# Extensions we recognise as "a file type" when fixing a name: a name ending in one
# of these that does not match the real type has it replaced instead of appended to.
_KNOWN_EXTENSIONS = {ext for t in (*ACCEPTED, *GENERIC_AUDIO) for ext in t.extensions} | {
    "avif", "bmp", "tif", "tiff", "svg", "ico", "webm", "mkv", "avi", "wmv", "flv", "3gp", "mpg", "mpeg",
    "mid", "midi", "wma", "txt", "bin", "dat", "tmp", "htm", "html", "php", "asp", "aspx", "jsp", "cgi",
    "json", "xml", "csv", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "rtf", "zip", "rar", "7z", "gz",
    "tar", "exe", "dmg", "pkg", "key", "pages", "numbers", "pjpeg", "image", "file", "download",
}
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f/\\\"<>|:*?]")
MAX_NAME_CHARS = 180


def clean_name(raw: str | None) -> str:
    """A display/file name safe to send and to put in a URL path segment (may be empty)."""
    text = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE_CHARS.sub("_", text).strip().strip(".").strip()
    return text


def name_for(raw_name: str | None, kind: FileType, *, fallback: str = "attachment") -> str:
    """`raw_name` (or `fallback`) with the extension fixed to match the real type.

    "photo" + JPEG → "photo.jpg"; "photo.png" + JPEG → "photo.jpg"; "photo.jpeg" + JPEG
    stays; "v1.2" + PDF → "v1.2.pdf". A `.caf` extension is what makes a voice note.
    """
    name = clean_name(raw_name) or clean_name(fallback) or "attachment"
    stem, dot, ext = name.rpartition(".")
    if dot and stem:
        if ext.lower() in kind.extensions:
            stem, ext = stem, ext.lower()
        elif ext.lower() in _KNOWN_EXTENSIONS:
            ext = kind.extension
        else:
            stem, ext = name, kind.extension
    else:
        stem, ext = name, kind.extension
    stem = stem[: MAX_NAME_CHARS - len(ext) - 1].rstrip(" .") or "attachment"
    return f"{stem}.{ext}"
