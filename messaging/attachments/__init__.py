"""Attachments: type detection, safe download, per-line cache, workspace uploads.

Entry points (import from the modules, this package imports nothing eagerly):

- `messaging.attachments.fetch.attachment_fetch(*, url, name, line_id, workspace_id)` → FetchedAttachment
  (worker only; raises `messaging.attachments.errors.AttachmentError` with `.code` and `.permanent`)
- `messaging.attachments.uploads.attachment_urls_check_ownership(*, workspace, urls)` (request time; 403)
- `messaging.attachments.cache.cache_prune()` (command `prune_attachment_cache`)
- `messaging.attachments.urls` (POST /api/uploads, GET /uploads/<ws>/<token>/<name>)

See docs/attachments.md.
"""
