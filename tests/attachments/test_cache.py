"""The per-line cache: hits, misses, expiry, pruning (command), corruption and concurrent writers."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from typing import Any

import pytest
from django.core.management import call_command

from messaging.attachments.cache import cache_get, cache_prune, cache_put
from messaging.attachments.fetch import attachment_fetch
from tests.attachments import samples
from tests.attachments.fileserver import FileServer
from tests.attachments.helpers import cache_blobs, cache_entries
from tests.storage.media import Media

LINE_A = "aaaaaaaaaaaaaaaaaaaaaaaa"
LINE_B = "cccccccccccccccccccccccc"
WORKSPACE = "bbbbbbbbbbbbbbbbbbbbbbbb"
DAY = 24 * 3600


def fetch(url: str, line_id: str = LINE_A, name: str | None = None) -> Any:
    return attachment_fetch(url=url, name=name, line_id=line_id, workspace_id=WORKSPACE)


def padded_png(size: int, fill: bytes = b"\x01") -> bytes:
    head = samples.png()
    return head + fill * (size - len(head))


def put(url: str, content: bytes, line_id: str = LINE_A, now: float | None = None) -> None:
    assert cache_put(line_id=line_id, url=url, content=content, sha256=hashlib.sha256(content).hexdigest(),
                     mime_type="image/png", now=now)


def test_second_fetch_from_the_same_line_skips_the_download(fileserver: FileServer) -> None:
    url = fileserver.add("/files/promo.mp4", samples.mp4())
    first = fetch(url)
    second = fetch(url, name="Promo")
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert fileserver.hit_count("/files/promo.mp4") == 1
    assert second.content == first.content and second.sha256 == first.sha256
    assert (second.mime_type, second.name, second.size) == ("video/mp4", "Promo.mp4", first.size)


def test_another_line_misses_but_shares_the_stored_bytes(fileserver: FileServer, media: Media) -> None:
    url = fileserver.add("/files/promo.mp4", samples.mp4())
    fetch(url, LINE_A)
    other = fetch(url, LINE_B)
    assert other.cache_hit is False
    assert fileserver.hit_count("/files/promo.mp4") == 2
    assert len(cache_entries(media)) == 2 and len(cache_blobs(media)) == 1
    assert fetch(url, LINE_B).cache_hit is True


def test_the_key_is_the_url(fileserver: FileServer) -> None:
    fileserver.add("/files/a.png", samples.png())
    fileserver.add("/files/b.png", samples.png())
    fetch(fileserver.url("/files/a.png"))
    assert fetch(fileserver.url("/files/b.png")).cache_hit is False


def test_an_expired_entry_is_downloaded_again(fileserver: FileServer, settings: Any) -> None:
    settings.TUCO_ATTACHMENT_CACHE_MAX_AGE_SECONDS = 60
    url = fileserver.add("/files/a.png", samples.png())
    put(url, samples.png(), now=time.time() - 61)
    assert fetch(url).cache_hit is False
    assert fileserver.hit_count("/files/a.png") == 1
    assert fetch(url).cache_hit is True  # the fresh download replaced the entry


def test_a_damaged_blob_is_a_miss_and_heals(fileserver: FileServer, media: Media) -> None:
    url = fileserver.add("/files/a.png", samples.png())
    fetch(url)
    [blob] = cache_blobs(media)
    media.write(blob, b"\x89PNG garbage of the same-ish size")
    assert fetch(url).cache_hit is False
    assert media.read(blob) == samples.png()
    assert fetch(url).cache_hit is True


def test_failed_downloads_are_not_cached(fileserver: FileServer, media: Media) -> None:
    with pytest.raises(Exception):  # noqa: B017 - any AttachmentError
        fetch(fileserver.url("/status/500"))
    assert cache_entries(media) == [] and cache_blobs(media) == []


def test_prune_command_removes_expired_entries_and_their_files(media: Media, settings: Any) -> None:
    settings.TUCO_ATTACHMENT_CACHE_MAX_AGE_SECONDS = 7 * DAY
    old, fresh = padded_png(1000), padded_png(2000, b"\x02")
    put("https://cdn.example/old.png", old, now=time.time() - 8 * DAY)
    put("https://cdn.example/old.png", old, line_id=LINE_B, now=time.time() - 8 * DAY)
    put("https://cdn.example/fresh.png", fresh, now=time.time() - 1 * DAY)
    out = io.StringIO()
    call_command("prune_attachment_cache", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["expiredEntries"] == 2 and report["removedBlobs"] == 1 and report["freedBytes"] == 1000
    assert report["entries"] == 1 and report["bytes"] == 2000
    assert [n.rsplit("/", 1)[-1] for n in cache_blobs(media)] == [hashlib.sha256(fresh).hexdigest()]
    assert cache_get(line_id=LINE_A, url="https://cdn.example/fresh.png") is not None
    assert cache_get(line_id=LINE_A, url="https://cdn.example/old.png") is None


def test_prune_evicts_least_recently_used_until_under_the_size_limit(media: Media) -> None:
    urls = [f"https://cdn.example/{i}.png" for i in range(4)]
    for i, url in enumerate(urls):  # last use: 0 oldest … 3 newest
        put(url, padded_png(10_000, bytes([i + 1])), now=time.time() - 1000 + i * 10)
    assert cache_get(line_id=LINE_A, url=urls[0]) is not None  # a hit makes 0 the most recently used
    result = cache_prune(limit_bytes=25_000)
    assert (result.evicted_entries, result.removed_blobs, result.bytes) == (2, 2, 20_000)
    alive = [url for url in urls if cache_get(line_id=LINE_A, url=url) is not None]
    assert alive == [urls[0], urls[3]]


def test_prune_keeps_a_blob_still_used_by_another_line(media: Media) -> None:
    content = padded_png(5000)
    put("https://cdn.example/x.png", content, line_id=LINE_A, now=time.time() - 10 * DAY)
    put("https://cdn.example/x.png", content, line_id=LINE_B)
    result = cache_prune(limit_age_seconds=7 * DAY)
    assert (result.expired_entries, result.removed_blobs) == (1, 0)
    assert cache_get(line_id=LINE_B, url="https://cdn.example/x.png") is not None


def test_prune_spares_a_young_unreferenced_blob_but_not_an_old_one(media: Media) -> None:
    put("https://cdn.example/y.png", padded_png(3000))
    [entry] = cache_entries(media)
    media.remove(entry)  # as if its entry were still being written by another worker
    assert cache_prune().removed_blobs == 0
    assert len(cache_blobs(media)) == 1
    assert cache_prune(now=time.time() + 2 * 3600).removed_blobs == 1 and cache_blobs(media) == []


def test_concurrent_fetches_of_one_url_agree_and_leave_a_valid_entry(fileserver: FileServer) -> None:
    content = padded_png(2 * 1024 * 1024, b"\x07")
    url = fileserver.add("/files/big.png", content)
    barrier, results, failures = threading.Barrier(8), [], []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(fetch(url))
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == [] and len(results) == 8
    assert all(r.content == content for r in results)
    cached = cache_get(line_id=LINE_A, url=url)
    assert cached is not None and cached.content == content


def test_readers_never_see_a_half_written_file(media: Media) -> None:
    """Two writers alternate different contents under one key; every read is one of them whole, or a miss."""
    url = "https://cdn.example/changing.png"
    versions = [padded_png(1024 * 1024, b"\x0a"), padded_png(1536 * 1024, b"\x0b")]
    valid = {hashlib.sha256(v).hexdigest() for v in versions}
    stop, seen, bad = threading.Event(), [], []

    def writer(content: bytes) -> None:
        while not stop.is_set():
            put(url, content)

    def reader() -> None:
        blob_names = [f"attachment-cache/blobs/{sha[:2]}/{sha}" for sha in valid]
        entry_name = f"attachment-cache/lines/{LINE_A}/{hashlib.sha256(url.encode()).hexdigest()}.json"
        while not stop.is_set():
            for name in blob_names:  # the objects themselves, not just what cache_get accepts
                try:
                    if hashlib.sha256(media.read(name)).hexdigest() != name.rsplit("/", 1)[-1]:
                        bad.append(f"partial blob {name}")
                except FileNotFoundError:
                    pass
            try:
                json.loads(media.read(entry_name))
            except FileNotFoundError:
                pass
            except ValueError:
                bad.append("partial entry")
            got = cache_get(line_id=LINE_A, url=url)
            if got is None:
                continue
            seen.append(got.sha256)
            if hashlib.sha256(got.content).hexdigest() not in valid:
                bad.append(len(got.content))

    threads = [threading.Thread(target=writer, args=(v,)) for v in versions]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    # At least 1.5 s of contention, and on until both versions were read (a loaded machine, S3 over HTTP).
    started = time.monotonic()
    while time.monotonic() - started < 1.5 or (set(seen) != valid and time.monotonic() - started < 30):
        time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert bad == []
    assert set(seen) == valid  # both versions were really read, whole
    assert [n for n in media.names("attachment-cache") if "/." in n] == []  # no temp files left behind
