"""The Slack agents' desk: escalations become threads, agents answer in them.

Pure modules (no I/O, tested on fixture payloads): ``config``, ``signature``,
``markup``, ``blocks``, ``parse``, ``commands``. I/O modules: ``store`` (the
desk's own tables), ``web`` (the Web API with error mapping), ``notifier``
(core notifications -> Slack), ``handlers`` (Slack -> core actions),
``transport`` (HTTP Events API and Socket Mode, dedupe and ack) and ``desk``
(the factory the core loads by the entry-point name ``slack``).
"""
