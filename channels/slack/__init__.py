"""The Slack agents' desk: escalations become threads, agents answer in them.

Built on slack-bolt's ``AsyncApp`` (``bolt_app``), which verifies, routes and
acknowledges Slack's requests. Pure modules (no I/O, tested on fixture
payloads): ``config``, ``signature`` (naming refusals), ``markup``, ``blocks``,
``parse``, ``commands``. I/O modules: ``store`` (the desk's own tables), ``web``
(the Web API, with error mapping), ``identity`` (Bolt's ``authorize``),
``notifier`` (core notifications -> Slack), ``handlers`` (Slack -> core
actions), ``intake`` (dedupe and the ack budget around the handlers),
``http_events`` (``POST /slack/events`` -> Bolt), ``socket_mode`` (Bolt's
Socket Mode handler) and ``desk`` (the factory the core loads by the
entry-point name ``slack``).
"""
