"""Throwaway provisioning servers (TFTP, HTTP, HTTPS, syslog, DNS) that record observations.

Each endpoint is an asyncio server on a real socket (127.0.0.1, ephemeral port,
by default), usable from async code (`await ep.start_async()`) and from sync
tests (`ep.start()`, which runs it on a shared background event loop). Every
endpoint records the observation types of `harness.observe`. Spec judgements
do not belong here: endpoints record, rules judge.
"""
