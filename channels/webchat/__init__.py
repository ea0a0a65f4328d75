"""The web chat channel: a Socket.IO server on the app, and the widget it serves.

Layout, one job per module, pure code apart from I/O:

- ``config``    the ``[webchat]`` settings, parsed and checked (pure)
- ``tokens``    visitor tokens and identity hashes, HMAC-SHA256 (pure)
- ``identity``  who is connecting, decided from the auth dict (pure)
- ``payloads``  validation of what clients send (pure)
- ``wire``      the shape of what the server emits (pure)
- ``ratelimit`` token buckets (pure, clock injected)
- ``sessions``  the sockets this process holds, per-visitor locks (in memory)
- ``secret``    the server secret: configured, or generated once into the data dir
- ``store``     the database reads and the CSAT write
- ``handlers``  the Socket.IO event handlers
- ``web``       GET /widget.js and GET /chat
- ``channel``   the Channel itself and its factory (the entry point)
"""
