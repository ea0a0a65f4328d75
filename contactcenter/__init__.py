"""contactcenter: an omnichannel contact-center and chat-bot backend.

The core (this package) never imports a channel or the knowledge base; the app
assembly loads them by name through entry points.
"""

__version__ = "0.1.0"
