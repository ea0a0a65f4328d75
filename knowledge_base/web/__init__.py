"""The knowledge base on the web: the token-guarded article API, the public search
endpoint and the server-rendered help centre. Mounted by :mod:`knowledge_base.plugin`."""
