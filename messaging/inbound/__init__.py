"""Everything providers tell us: relay webhooks, Twilio callbacks, raw emails, polled relay receipts.

Read in this order: views.py (the hook URLs: authenticate) → bluebubbles.py / twilio.py / email.py
(normalize the provider's payload into one InboundEvent, events.py) → store.py (a reply) or
tracking.py (news about one of our sends) → messaging.send.state. receipts.py polls the relay for
the receipts its webhooks lost and feeds the same normalizer and handler.
"""
