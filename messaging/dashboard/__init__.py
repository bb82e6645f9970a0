"""The reporting dashboard of the admin (`/admin/messaging/message/reporting/`): per line and per day, charts."""
