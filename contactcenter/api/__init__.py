"""The HTTP API (aiohttp): thin views over the core; side effects live in the core."""
