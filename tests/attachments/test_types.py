from __future__ import annotations

import pytest

from messaging.attachments import types
from tests.attachments import samples


@pytest.mark.parametrize("key", sorted(samples.ACCEPTED))
def test_accepted_types_are_detected_from_bytes(key: str) -> None:
    make, mime, extension = samples.ACCEPTED[key]
    kind = types.detect(make())
    assert kind is not None and kind.mime == mime and kind.extension == extension
    assert kind.is_audio_message is (key == "caf")
    assert kind.generic is False


@pytest.mark.parametrize("key", sorted(samples.GENERIC_AUDIO))
def test_other_audio_is_a_generic_file_never_a_voice_note(key: str) -> None:
    make, mime, extension = samples.GENERIC_AUDIO[key]
    kind = types.detect(make())
    assert kind is not None and kind.mime == mime and kind.extension == extension
    assert kind.generic is True and kind.is_audio_message is False


@pytest.mark.parametrize("key", sorted(samples.REFUSED))
def test_unsupported_bytes_are_refused(key: str) -> None:
    assert types.detect(samples.REFUSED[key]()) is None


def test_detection_ignores_the_name_and_needs_real_magic() -> None:
    assert types.detect(b"") is None
    assert types.detect(b"caff") is None  # magic without the version field
    assert types.detect(b"caff\x00\x02\x00\x00" + b"\x00" * 20) is None  # unknown CAF version
    assert types.detect(b"\x00\x00\x00\x18ftypXXXX\x00\x00\x00\x00XXXXXXXX") is None  # unknown brand


@pytest.mark.parametrize(("raw", "key", "expected"), [
    (None, "png", "attachment.png"),
    ("", "pdf", "attachment.pdf"),
    ("photo", "jpg", "photo.jpg"),
    ("photo.jpeg", "jpg", "photo.jpeg"),  # an alias of the real type stays
    ("photo.JPG", "jpg", "photo.jpg"),
    ("photo.png", "jpg", "photo.jpg"),  # a wrong known extension is replaced
    ("voice.mp3", "caf", "voice.caf"),  # .caf is what makes the voice-note bubble
    ("voice", "caf", "voice.caf"),
    ("report.v1.2", "pdf", "report.v1.2.pdf"),  # not an extension: appended
    ("Promo Video", "mp4", "Promo Video.mp4"),
    ("../../etc/passwd", "pdf", "passwd.pdf"),
    ("C:\\Users\\me\\clip.mov", "mov", "clip.mov"),
    ("we<ird>:na|me?.gif", "gif", "we_ird__na_me_.gif"),
    (".png", "png", "png.png"),
    ("page.html", "pdf", "page.pdf"),
    ("x" * 300 + ".png", "png", "x" * 176 + ".png"),
])
def test_name_for_fixes_the_extension(raw: str | None, key: str, expected: str) -> None:
    kind = types.detect(samples.ACCEPTED[key][0]())
    assert kind is not None
    assert types.name_for(raw, kind) == expected
